#!/usr/bin/env bash
# node.sh - the local cluster's real node: containerd, kubelet, kube-proxy and CoreDNS on this
# machine, pods on a CNI bridge, images built locally (scripts/images.sh). scripts/cluster.sh
# runs it after the control plane; run alone it expects the API server of cluster.sh.
#
# Usage:  scripts/node.sh build      # kubelet, kube-proxy, CoreDNS, crane (cached); more
#                                    # k8s.io/kubernetes binaries named after it in kubelet's build
#         scripts/node.sh packages   # Debian's containerd, runc, CNI plugins, iptables, conntrack
#         scripts/node.sh up         # start the node (packages, images, processes); waits for Ready
#         scripts/node.sh down       # stop it and leave nothing behind (see below)
#         scripts/node.sh status     # what runs; leftovers of a node that does not run
#
# Built from Go modules (scripts/lib/pins.sh): kubelet and kube-proxy from k8s.io/kubernetes as
# the control plane, CoreDNS from github.com/coredns/coredns, crane from
# github.com/google/go-containerregistry; from Debian: containerd 1.6, runc, the CNI plugins,
# iptables (nft) and conntrack. Facts of this machine the configuration answers:
#  * root lacks CAP_SYS_RESOURCE: containerd's CRI gets `restrict_oom_score_adj = true` (else
#    runc fails "can't get final child's PID from pipe");
#  * cgroup v1 and no systemd as PID 1: kubelet `failCgroupV1: false`, `cgroupDriver: cgroupfs`,
#    under a cgroup of its own (/involution-node) that `down` removes;
#  * the API server listens on 127.0.0.1 only, so no pod can call it: CoreDNS runs on this
#    machine (like kubelet) on the bridge's address, behind the `kube-dns` Service.
#
# Only loopback and the node's own bridge carry anything (scripts/lib/network.sh): kubelet's
# API and CoreDNS listen on the bridge address (the node's InternalIP), their health ports and
# kube-proxy's on 127.0.0.1, the pods on the bridge.
# `down` stops every process (the containers, their shims, containerd, kubelet, kube-proxy,
# CoreDNS), unmounts what they mounted, deletes the bridge, the KUBE-*/CNI-* iptables chains,
# the node's cgroups, and sets back every sysctl the node changed (recorded at `up`).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib/pins.sh
. "$ROOT/scripts/lib/pins.sh"
# shellcheck source=scripts/lib/network.sh
. "$ROOT/scripts/lib/network.sh"
LOG_NAME=node
CLUSTER_HOME="${INVOLUTION_CLUSTER_HOME:-$HOME/.cache/involution-cluster}"
BIN="$CLUSTER_HOME/bin"
STAMPS="$CLUSTER_HOME/stamps"
# shellcheck source=scripts/lib/build.sh
. "$ROOT/scripts/lib/build.sh"

NODE_BINARIES=(kubelet kube-proxy)
NODE_KEY="k8s.io/kubernetes v$K8S_VERSION (kubelet kube-proxy), staging v0.${K8S_VERSION#1.}, CGO_ENABLED=0"
# CoreDNS with the plugins of a kube-dns Corefile (kubeadm's: errors, health, ready, kubernetes,
# prometheus, forward, cache, loop, reload, loadbalance) and bind and log, the way CoreDNS
# documents a build with fewer plugins: a main package importing coremain and those plugins
# (its own main imports all 60, the cloud SDKs of route53, azure and clouddns and the clients of
# tracing and etcd among them: a 76 MB binary, this one 52 MB; cold beside the other builds,
# 754 s before and 535 s after). Package folders under github.com/coredns/coredns/plugin/
# (the prometheus directive is plugin/metrics).
COREDNS_PLUGINS=(bind cache errors forward health kubernetes loadbalance log loop metrics ready reload)
COREDNS_KEY="github.com/coredns/coredns v$COREDNS_VERSION (plugins ${COREDNS_PLUGINS[*]}), CGO_ENABLED=0"
CRANE_KEY="github.com/google/go-containerregistry/cmd/crane v$CRANE_VERSION, CGO_ENABLED=0"

# build_node_binaries [BINARY...]: kubelet, kube-proxy and the other k8s.io/kubernetes/cmd
# binaries named (cluster.sh's control plane) in one `go build`, which compiles the packages
# they share once; two builds side by side compiled each of them twice.
build_node_binaries() {
  local b all=("${NODE_BINARIES[@]}" "$@")
  kubernetes_binaries "$K8S_VERSION" "$WORK/node-out" "${all[@]}"
  for b in "${all[@]}"; do install_file "$WORK/node-out/$b" "$BIN/$b"; done
  stamp_write kubernetes-node "$NODE_KEY"
}

build_coredns() {
  local dir plugin
  dir="$(mktemp -d "$WORK/module.XXXXXX")"
  throwaway_module "$dir" "github.com/coredns/coredns@v$COREDNS_VERSION"
  {
    printf 'package main\n\nimport (\n\t"github.com/coredns/coredns/coremain"\n'
    for plugin in "${COREDNS_PLUGINS[@]}"; do
      printf '\t_ "github.com/coredns/coredns/plugin/%s"\n' "$plugin"
    done
    printf ')\n\nfunc main() { coremain.Run() }\n'
  } > "$dir/main.go"
  (cd "$dir" && go build -trimpath \
     -ldflags "-s -w -X github.com/coredns/coredns/coremain.GitCommit=v$COREDNS_VERSION" \
     -o "$WORK/coredns.bin" .)
  install_file "$WORK/coredns.bin" "$BIN/coredns"
  stamp_write coredns "$COREDNS_KEY"
}

build_crane() {
  go_binary "github.com/google/go-containerregistry@v$CRANE_VERSION" \
    github.com/google/go-containerregistry/cmd/crane "$WORK/crane.bin"
  install_file "$WORK/crane.bin" "$BIN/crane"
  stamp_write crane "$CRANE_KEY"
}

# build [BINARY...]: the three builds side by side (their downloads overlap; Go's build cache
# is shared); BINARY... are more k8s.io/kubernetes binaries to build with kubelet's.
build() {
  local t0=$SECONDS pids=() names=() i failed=()
  mkdir -p "$BIN"
  if [[ $# -gt 0 ]] || ! stamp_ok kubernetes-node "$NODE_KEY" "$BIN/kubelet" "$BIN/kube-proxy"
  then
    go_env
    timed "built kubelet, kube-proxy${*:+, $*} v$K8S_VERSION" build_node_binaries "$@" &
    pids+=($!); names+=(kubelet)
  fi
  if ! stamp_ok coredns "$COREDNS_KEY" "$BIN/coredns"; then
    go_env; timed "built CoreDNS v$COREDNS_VERSION" build_coredns &
    pids+=($!); names+=(coredns)
  fi
  if ! stamp_ok crane "$CRANE_KEY" "$BIN/crane"; then
    go_env; timed "built crane v$CRANE_VERSION" build_crane &
    pids+=($!); names+=(crane)
  fi
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || failed+=("${names[$i]}")
  done
  [[ ${#failed[@]} -eq 0 ]] || die "build failed: ${failed[*]}"
  log "node binaries ready in $((SECONDS - t0))s: $BIN"
}


# ------------------------------------------------------------------ layout ----
RUN="$CLUSTER_HOME/run"
PKI="$CLUSTER_HOME/pki"
KUBECONFIG_PATH="$CLUSTER_HOME/kubeconfig"
NODE_HOME="$CLUSTER_HOME/node"
# Machine-wide: one node per machine (its bridge, chains and sysctls are the machine's).
NODE_RUN="/run/involution-node"
OWNER="$NODE_RUN/owner"
CONTAINERD_SOCK="$NODE_RUN/containerd.sock"
CGROUP_ROOT="involution-node"
PAUSE_IMAGE="involution-local/pause:1.0.0"
KUBELET_PORT="${INVOLUTION_CLUSTER_KUBELET_PORT:-16250}"
KUBELET_HEALTHZ_PORT="${INVOLUTION_CLUSTER_KUBELET_HEALTHZ_PORT:-16248}"
KUBE_PROXY_HEALTHZ_PORT="${INVOLUTION_CLUSTER_KUBE_PROXY_HEALTHZ_PORT:-16256}"
KUBE_PROXY_METRICS_PORT="${INVOLUTION_CLUSTER_KUBE_PROXY_METRICS_PORT:-16249}"
COREDNS_HEALTH_PORT="${INVOLUTION_CLUSTER_COREDNS_HEALTH_PORT:-16253}"
COREDNS_READY_PORT="${INVOLUTION_CLUSTER_COREDNS_READY_PORT:-16254}"
CONTAINERD=/usr/bin/containerd
CTR=(ctr --address "$CONTAINERD_SOCK" --namespace k8s.io)
# Debian's packages the node runs, and a command of each that tells it is installed.
declare -A PACKAGE_TOOL=([containerd]=containerd [runc]=runc
  [containernetworking-plugins]=/usr/lib/cni/bridge [iptables]=iptables [conntrack]=conntrack)
CHAIN_PREFIXES='KUBE-|CNI-'

# shellcheck source=scripts/lib/proc.sh
. "$ROOT/scripts/lib/proc.sh"

digest() { sha256sum "$1" | cut -c1-16; }
kctl() { "$BIN/kubectl" --kubeconfig "$KUBECONFIG_PATH" --context "$CONTEXT" "$@"; }
as_root() {
  [[ $(id -u) -eq 0 ]] && return 0
  die "the real node needs root (containerd, iptables, mounts, cgroups): run it as root"
}

# ---------------------------------------------------------------- packages ----
packages() {
  local package missing=()
  for package in "${!PACKAGE_TOOL[@]}"; do
    PATH="$PATH:/usr/sbin:/sbin" command -v "${PACKAGE_TOOL[$package]}" >/dev/null 2>&1 \
      || missing+=("$package")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  as_root
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# ----------------------------------------------------------------- sysctls ----
# Every writable sysctl is recorded before the node's first change, and `down` sets back the
# ones that differ (kubelet sets kernel.panic and co.; the bridge needs forwarding). Values
# that move by themselves and per-interface keys (the node's interfaces go away) are skipped.
SYSCTL_RECORD="$NODE_HOME/sysctl.before"
SYSCTL_SKIP='^(kernel\.ns_last_pid|kernel\.random\.|net\.ipv[46]\.(conf|neigh)\.[^.]+\.|fs\.)'
writable_sysctls() {
  local path
  while IFS= read -r path; do
    path="${path#/proc/sys/}"
    echo "${path//\//.}"
  done < <(find /proc/sys -type f -perm /200 2>/dev/null) | grep -vE "$SYSCTL_SKIP" | sort
}
sysctl_snapshot() {  # key<TAB>value lines of the writable sysctls
  local key value
  while IFS= read -r key; do
    value="$(sysctl -n "$key" 2>/dev/null)" || continue
    printf '%s\t%s\n' "$key" "${value//$'\t'/ }"
  done < <(writable_sysctls)
}
record_sysctls() {
  [[ -s "$SYSCTL_RECORD" ]] && return 0
  mkdir -p "$NODE_HOME"
  sysctl_snapshot > "$SYSCTL_RECORD.tmp"
  mv -f "$SYSCTL_RECORD.tmp" "$SYSCTL_RECORD"
}
# sysctl_changes: "key: now -> recorded" for each recorded sysctl that differs now.
sysctl_changes() {
  [[ -s "$SYSCTL_RECORD" ]] || return 0
  join -t $'\t' <(sort "$SYSCTL_RECORD") <(sysctl_snapshot | sort) \
    | awk -F'\t' '$2 != $3 { print $1 ": " $3 " -> " $2 }'
}
restore_sysctls() {
  [[ -s "$SYSCTL_RECORD" ]] || return 0
  local key value
  while IFS=$'\t' read -r key value; do
    sysctl -q -w "$key=$value" >/dev/null 2>&1 || log "could not set $key back to $value"
  done < <(join -t $'\t' <(sort "$SYSCTL_RECORD") <(sysctl_snapshot | sort) \
             | awk -F'\t' '$2 != $3 { print $1 "\t" $2 }')
  local left
  left="$(sysctl_changes)"
  [[ -z "$left" ]] || log "sysctls still changed: $left"
  rm -f "$SYSCTL_RECORD"
}

# ----------------------------------------------------------------- network ----
bridge_up() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
  fi
  ip addr replace "$BRIDGE_IP/${POD_SUBNET#*/}" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  sysctl -q -w net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1 \
    net.bridge.bridge-nf-call-ip6tables=1 >/dev/null
}

cni_config() {
  mkdir -p "$NODE_HOME/cni/net.d" "$NODE_HOME/cni/ipam"
  cat > "$NODE_HOME/cni/net.d/10-involution.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "involution",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$NODE_HOME/cni/ipam",
        "ranges": [[{"subnet": "$POD_SUBNET", "gateway": "$BRIDGE_IP"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    }
  ]
}
JSON
}

# iptables_tools: the iptables front ends installed (nft and legacy, IPv4 and IPv6).
# The legacy ones only when their tables exist: listing them would create them.
iptables_tools() {
  local t
  for t in iptables-nft ip6tables-nft; do
    command -v "$t" >/dev/null 2>&1 && echo "$t"
  done
  if [[ -s /proc/net/ip_tables_names ]] && command -v iptables-legacy >/dev/null 2>&1; then
    echo iptables-legacy
  fi
  if [[ -s /proc/net/ip6_tables_names ]] && command -v ip6tables-legacy >/dev/null 2>&1; then
    echo ip6tables-legacy
  fi
  return 0
}
# our_chains TOOL: "table chain" of every KUBE-*/CNI-* chain.
our_chains() {
  local tool="$1" table
  for table in filter nat mangle raw; do
    "$tool" -w -t "$table" -S 2>/dev/null \
      | sed -nE "s/^-N (($CHAIN_PREFIXES)[^ ]*)$/$table \1/p"
  done
}
delete_chains() {
  local tool table chain rule
  while IFS= read -r tool; do
    for table in filter nat mangle raw; do
      # Rules of other chains that jump to ours, then our chains themselves.
      while IFS= read -r rule; do
        eval "\"$tool\" -w -t \"$table\" ${rule/#-A/-D}" 2>/dev/null || true
      done < <("$tool" -w -t "$table" -S 2>/dev/null \
                 | grep -E "^-A " | grep -vE "^-A ($CHAIN_PREFIXES)" \
                 | grep -E " -j ($CHAIN_PREFIXES)")
      while read -r _ chain; do
        "$tool" -w -t "$table" -F "$chain" 2>/dev/null || true
      done < <(our_chains "$tool" | grep "^$table ")
      while read -r _ chain; do
        "$tool" -w -t "$table" -X "$chain" 2>/dev/null || true
      done < <(our_chains "$tool" | grep "^$table ")
    done
  done < <(iptables_tools)
}

# ----------------------------------------------------------- machine paths ----
# Folders kubelet, containerd's shims and the CNI library use at fixed paths whatever their
# configuration: those that did not exist before the node's first start go with `down`.
FIXED_PATHS=(/var/lib/kubelet /var/log/containers /var/lib/cni /run/containerd)
CREATED_RECORD="$NODE_HOME/created-paths"
record_paths() {
  [[ -f "$CREATED_RECORD" ]] && return 0
  local path
  mkdir -p "$NODE_HOME"
  for path in "${FIXED_PATHS[@]}"; do
    [[ -e "$path" ]] || echo "$path"
  done > "$CREATED_RECORD"
}
remove_created_paths() {
  [[ -f "$CREATED_RECORD" ]] || return 0
  local path
  while IFS= read -r path; do
    [[ -n "$path" && -e "$path" ]] && rm -rf --one-file-system "$path"
  done < "$CREATED_RECORD"
  rm -f "$CREATED_RECORD"
}
created_paths_left() {
  [[ -f "$CREATED_RECORD" ]] || return 0
  local path
  while IFS= read -r path; do
    [[ -n "$path" && -e "$path" ]] && echo "$path"
  done < "$CREATED_RECORD"
  return 0
}

# ------------------------------------------------------------------ cgroups ----
cgroup_dirs() {  # our cgroup in every v1 hierarchy (and the unified one)
  local d
  for d in /sys/fs/cgroup/*/; do
    [[ -d "$d$CGROUP_ROOT" ]] && echo "${d%/}/$CGROUP_ROOT"
  done
}
cgroups_up() {
  local d
  for d in /sys/fs/cgroup/*/; do
    [[ -f "${d}cgroup.procs" ]] || continue
    mkdir -p "$d$CGROUP_ROOT"
    if [[ -f "${d}cpuset.cpus" ]]; then
      cat "${d}cpuset.cpus" > "$d$CGROUP_ROOT/cpuset.cpus"
      cat "${d}cpuset.mems" > "$d$CGROUP_ROOT/cpuset.mems"
    fi
  done
}
cgroups_down() {
  local d
  while IFS= read -r d; do
    find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
    [[ -d "$d" ]] && log "cgroup $d still holds processes"
  done < <(cgroup_dirs)
  return 0
}

# ------------------------------------------------------------------- mounts ----
our_mounts() {  # mount points under the node's folders, deepest first
  findmnt -rn -o TARGET | grep -E "^($NODE_HOME|$NODE_RUN)(/|$)" | awk '{ print length, $0 }' \
    | sort -rn | cut -d' ' -f2-
}
unmount_all() {
  local target
  while IFS= read -r target; do
    umount "$target" 2>/dev/null || umount -l "$target" 2>/dev/null \
      || log "could not unmount $target"
  done < <(our_mounts)
}

# ------------------------------------------------------------------- config ----
containerd_config() {
  mkdir -p "$NODE_HOME/containerd" "$NODE_RUN"
  cat > "$NODE_HOME/containerd.toml" <<TOML
version = 2
root = "$NODE_HOME/containerd"
state = "$NODE_RUN/containerd"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = "$CONTAINERD_SOCK"

[plugins."io.containerd.internal.v1.opt"]
  path = "$NODE_HOME/containerd-opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # root lacks CAP_SYS_RESOURCE here: never lower a container's oom_score_adj below ours.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "/usr/sbin/runc"
        Root = "$NODE_RUN/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$NODE_HOME/cni/net.d"
    max_conf_num = 1
TOML
}

kubelet_config() {
  mkdir -p "$NODE_HOME/kubelet" "$NODE_HOME/logs/pods"
  cat > "$NODE_HOME/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $BRIDGE_IP
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
tlsCertFile: $PKI/kubelet-serving.crt
tlsPrivateKeyFile: $PKI/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: $PKI/ca.crt}
# Only holders of the cluster CA's certificates reach it, on the node's bridge address.
authorization: {mode: AlwaysAllow}
# cgroup v1, no systemd as PID 1.
cgroupDriver: cgroupfs
failCgroupV1: false
cgroupRoot: /$CGROUP_ROOT
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
clusterDNS: [$DNS_SERVICE_IP]
clusterDomain: cluster.local
resolvConf: ""
podLogsDir: $NODE_HOME/logs/pods
# Never garbage-collect the locally built images (no registry to pull them back from).
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: 100Mi, nodefs.available: 5%, imagefs.available: 5%}
failSwapOn: false
serializeImagePulls: false
shutdownGracePeriod: 0s
nodeStatusUpdateFrequency: 5s
YAML
}

kube_proxy_config() {
  cat > "$NODE_HOME/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $RUN/kube-proxy.kubeconfig}
hostnameOverride: $NODE_NAME
mode: iptables
clusterCIDR: $CLUSTER_CIDR
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:$KUBE_PROXY_HEALTHZ_PORT
metricsBindAddress: 127.0.0.1:$KUBE_PROXY_METRICS_PORT
nodePortAddresses: [127.0.0.0/8]
# Leave the machine's conntrack sysctls alone, and route_localnet off.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
iptables: {localhostNodePorts: false, minSyncPeriod: 0s, syncPeriod: 30s}
YAML
}

coredns_config() {
  cat > "$NODE_HOME/Corefile" <<COREFILE
.:53 {
    bind $BRIDGE_IP
    errors
    health 127.0.0.1:$COREDNS_HEALTH_PORT
    ready 127.0.0.1:$COREDNS_READY_PORT
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig $RUN/coredns.kubeconfig default
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
    }
    cache 5
}
COREFILE
}

# What the node needs of the API server: the kube-dns Service (its endpoint is CoreDNS on
# the bridge address: no selector, an EndpointSlice of ours) and the read access of CoreDNS
# and of the Prometheus of cluster.sh.
cluster_objects() {
  kctl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels: {k8s-app: kube-dns, kubernetes.io/name: CoreDNS}
spec:
  clusterIP: $DNS_SERVICE_IP
  ports:
  - {name: dns, port: 53, protocol: UDP, targetPort: 53}
  - {name: dns-tcp, port: 53, protocol: TCP, targetPort: 53}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: kube-dns-node
  namespace: kube-system
  labels:
    kubernetes.io/service-name: kube-dns
    endpointslice.kubernetes.io/managed-by: involution-node
addressType: IPv4
endpoints:
- addresses: [$BRIDGE_IP]
  conditions: {ready: true}
ports:
- {name: dns, port: 53, protocol: UDP}
- {name: dns-tcp, port: 53, protocol: TCP}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "involution:service-discovery"}
rules:
- apiGroups: [""]
  resources: [endpoints, services, pods, namespaces, nodes]
  verbs: [get, list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [get, list, watch]
- apiGroups: [monitoring.coreos.com]
  resources: [servicemonitors, prometheusrules]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "involution:service-discovery"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "involution:service-discovery"}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: involution-coredns}
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: involution-prometheus}
YAML
}

# ---------------------------------------------------------------------- up ----
node_ready() {
  [[ "$(kctl get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" == True ]]
}
containerd_ready() { "${CTR[@]}" version; }
ok_at() { curl -fsS "http://127.0.0.1:$1$2"; }

# another_owner: the cluster home whose node holds the machine's node parts, if not ours.
another_owner() {
  [[ -f "$OWNER" && "$(<"$OWNER")" != "$CLUSTER_HOME" ]] && cat "$OWNER"
}
claim() {
  mkdir -p "$NODE_RUN"
  if another_owner >/dev/null && { containerd_ready >/dev/null 2>&1 || ip link show "$BRIDGE" >/dev/null 2>&1; }; then
    die "a node of $(<"$OWNER") runs on this machine: stop it first (INVOLUTION_CLUSTER_HOME=$(<"$OWNER") scripts/cluster.sh down)"
  fi
  echo "$CLUSTER_HOME" > "$OWNER"
}

images() {
  local python="$ROOT/venv/bin/python"
  # The router's and the cache's images are built from Debian's nginx and redis binaries.
  "$ROOT/scripts/install_test_tools.sh"
  [[ -x "$python" ]] || "$ROOT/scripts/venv.sh" requirements-dev.txt >&2
  (cd "$ROOT" && "$python" -m tools.node_images --crane "$BIN/crane" --ctr ctr \
     --address "$CONTAINERD_SOCK" --home "$NODE_HOME" --pause-image "$PAUSE_IMAGE")
}

up() {
  local t0=$SECONDS
  as_root
  packages
  build
  [[ -s "$RUN/kubelet.kubeconfig" ]] || die "no $RUN/kubelet.kubeconfig: scripts/cluster.sh up starts the node"
  claim
  record_sysctls
  record_paths
  bridge_up
  cgroups_up
  cni_config
  containerd_config
  START_KEY="$(digest "$NODE_HOME/containerd.toml")" \
    start containerd "$CONTAINERD" --config "$NODE_HOME/containerd.toml"
  wait_for 30 containerd containerd_ready
  timed "images" images
  kubelet_config
  START_KEY="$(digest "$NODE_HOME/kubelet.yaml")" start kubelet "$BIN/kubelet" --config "$NODE_HOME/kubelet.yaml" \
    --kubeconfig "$RUN/kubelet.kubeconfig" --hostname-override "$NODE_NAME" \
    --node-ip "$BRIDGE_IP" --root-dir "$NODE_HOME/kubelet" --cert-dir "$NODE_HOME/kubelet/pki" \
    --node-labels "involution.dev/node=real"
  kube_proxy_config
  START_KEY="$(digest "$NODE_HOME/kube-proxy.yaml")" \
    start kube-proxy "$BIN/kube-proxy" --config "$NODE_HOME/kube-proxy.yaml"
  cluster_objects
  coredns_config
  START_KEY="$(digest "$NODE_HOME/Corefile")" start coredns "$BIN/coredns" -conf "$NODE_HOME/Corefile"
  wait_for 60 "kubelet" ok_at "$KUBELET_HEALTHZ_PORT" /healthz
  wait_for 60 "kube-proxy" ok_at "$KUBE_PROXY_HEALTHZ_PORT" /healthz
  wait_for 60 "CoreDNS" ok_at "$COREDNS_READY_PORT" /ready
  wait_for 120 "node $NODE_NAME" node_ready
  log "node $NODE_NAME ready in $((SECONDS - t0))s (containerd, kubelet, kube-proxy, CoreDNS)"
}

# -------------------------------------------------------------------- down ----
NODE_PROCESSES=(kube-proxy kubelet coredns)
# shims: the containerd shims of this node's containerd (by its socket in their arguments).
shims() {
  local p
  for p in /proc/[0-9]*; do
    { tr '\0' ' ' < "$p/cmdline"; } 2>/dev/null | grep -q -- "-address $CONTAINERD_SOCK " \
      && echo "${p#/proc/}"
  done
  return 0
}

remove_containers() {
  containerd_ready >/dev/null 2>&1 || return 0
  local id
  for id in $("${CTR[@]}" tasks list -q 2>/dev/null); do
    "${CTR[@]}" tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true
  done
  for id in $("${CTR[@]}" tasks list -q 2>/dev/null); do
    for _ in $(seq 50); do
      "${CTR[@]}" tasks delete "$id" >/dev/null 2>&1 && break
      sleep 0.1
    done
  done
  for id in $("${CTR[@]}" containers list -q 2>/dev/null); do
    "${CTR[@]}" containers delete "$id" >/dev/null 2>&1 || log "could not delete container $id"
  done
}

down() {
  as_root
  local name pid stopped=() other
  if other="$(another_owner)"; then
    log "the node's machine-wide parts belong to $other: stopping only this home's processes"
    for name in "${NODE_PROCESSES[@]}" containerd; do stop "$name" 10 || true; done
    return 0
  fi
  for name in "${NODE_PROCESSES[@]}"; do
    stop "$name" 10 && stopped+=("$name")
  done
  remove_containers
  stop containerd 10 && stopped+=(containerd)
  for pid in $(shims); do kill -9 "$pid" 2>/dev/null || true; done
  unmount_all
  local link
  for link in $(ip -o link show master "$BRIDGE" 2>/dev/null | awk -F': ' '{ print $2 }' | cut -d@ -f1); do
    ip link delete "$link" 2>/dev/null || true
  done
  if ip link show "$BRIDGE" >/dev/null 2>&1; then ip link delete "$BRIDGE"; fi
  delete_chains
  cgroups_down
  restore_sysctls
  rm -rf "$NODE_HOME/cni/ipam" "$NODE_RUN"
  find /var/log/containers -maxdepth 1 -lname "$NODE_HOME/*" -delete 2>/dev/null || true
  find /var/lib/cni/results -maxdepth 1 -name 'involution-*' -delete 2>/dev/null || true
  remove_created_paths
  log "node stopped: ${stopped[*]:-nothing was running}"
  leftovers >&2 || die "the node left these behind"
}

# leftovers: what a stopped node must not leave: processes, mounts, links, iptables chains,
# cgroups, changed sysctls. Prints them; exit 1 when there is any.
leftovers() {
  local found=() name line
  for name in "${NODE_PROCESSES[@]}" containerd; do
    pid_of "$name" >/dev/null && found+=("process $name")
  done
  while IFS= read -r line; do found+=("process containerd-shim $line"); done < <(shims)
  while IFS= read -r line; do found+=("mount $line"); done < <(our_mounts)
  ip link show "$BRIDGE" >/dev/null 2>&1 && found+=("link $BRIDGE")
  while IFS= read -r line; do
    while IFS= read -r name; do found+=("$line chain $name"); done < <(our_chains "$line")
  done < <(iptables_tools)
  while IFS= read -r line; do found+=("cgroup $line"); done < <(cgroup_dirs)
  while IFS= read -r line; do found+=("sysctl $line"); done < <(sysctl_changes)
  [[ -d "$NODE_RUN" ]] && found+=("folder $NODE_RUN")
  while IFS= read -r line; do found+=("folder $line"); done < <(created_paths_left)
  [[ ${#found[@]} -eq 0 ]] && return 0
  printf 'left behind: %s\n' "${found[@]}"
  return 1
}

status() {
  local name pid rc=0
  for name in containerd "${NODE_PROCESSES[@]}"; do
    if pid="$(pid_of "$name")"; then
      printf '%-24s running (pid %s, %s MB)\n' "$name" "$pid" \
        "$(( $(awk '/VmRSS/ {print $2}' "/proc/$pid/status") / 1024 ))"
    else
      printf '%-24s stopped\n' "$name"; rc=1
    fi
  done
  if containerd_ready >/dev/null 2>&1; then
    echo "containers: $("${CTR[@]}" tasks list -q 2>/dev/null | wc -l) running," \
      "images: $("${CTR[@]}" images list -q 2>/dev/null | wc -l)"
  fi
  return $rc
}

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}

case "${1:-}" in
  build) shift; build "$@" ;;
  packages) packages ;;
  up) up ;;
  down) down ;;
  status) status ;;
  leftovers) leftovers ;;
  *) usage ;;
esac
