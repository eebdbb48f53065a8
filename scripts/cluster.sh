#!/usr/bin/env bash
# cluster.sh - a local Kubernetes control plane on loopback, for `pulumi up` against a live
# API server: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok (fake
# nodes that run no containers but make pods Ready), all built from Go modules served by
# the Go module proxy (no GitHub, no container registry).
#
# Usage:  scripts/cluster.sh up       # build once (cached), start, print the kubeconfig path
#         scripts/cluster.sh down     # stop every process this script started; keep the cache
#         scripts/cluster.sh status   # what runs, and whether the API server answers
#         scripts/cluster.sh build    # only build (cached)
#         scripts/cluster.sh crds     # (re)apply the Prometheus Operator CRDs
#         scripts/cluster.sh delete-crds   # remove them (a cluster without the operator)
#         scripts/cluster.sh bare-up|bare-down  # a second, empty API server (no CRDs) on the
#                                             same etcd; prints its kubeconfig
#         scripts/cluster.sh kubeconfig    # print the kubeconfig path (bin: the binaries' folder)
#   up --without-prometheus-operator-crds: does not apply the monitoring.coreos.com CRDs (those
#   of an earlier `up` stay in etcd: `delete-crds` removes them)
#   (the default applies them, as kube-prometheus-stack would).
#
# Everything lives in CLUSTER_HOME=${INVOLUTION_CLUSTER_HOME:-$HOME/.cache/involution-cluster}:
#   bin/        etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kwok
#   stamps/     one per component: the versions it was built from (a changed pin rebuilds)
#   pki/        CA, serving and client certificates, front-proxy CA, service-account keys
#   data/       etcd's data; run/ pid files and logs; kubeconfig (context involution-local)
#
# Pins, checked against the proxy:
#  * k8s.io/kubernetes v1.36.3: its go.mod points every k8s.io/* staging module at
#    ./staging/src, which a module zip cannot use; a throwaway module requires it and
#    replaces each staging module by its published release v0.36.3 (k8s.io/sample-cli-plugin
#    is not needed and dropped). gitVersion is set by -ldflags, or /version says v0.0.0-master.
#  * etcd from go.etcd.io/etcd/server/v3 v3.6.x (Debian's 3.4 stalls kwok's watches).
#  * kwok from sigs.k8s.io/kwok v0.8.0, with its bundled node and pod stages ("fast").
set -euo pipefail

K8S_VERSION="1.36.3"                 # k8s.io/kubernetes v$K8S_VERSION, staging v0.${K8S_VERSION#1.}
ETCD_VERSION="3.6.16"
KWOK_VERSION="0.8.0"
PROMETHEUS_OPERATOR_VERSION="v0.85.0" # as tests/crd_schemas.py; bump together

CLUSTER_HOME="${INVOLUTION_CLUSTER_HOME:-$HOME/.cache/involution-cluster}"
BIN="$CLUSTER_HOME/bin"
STAMPS="$CLUSTER_HOME/stamps"
PKI="$CLUSTER_HOME/pki"
RUN="$CLUSTER_HOME/run"
DATA="$CLUSTER_HOME/data"
KUBECONFIG_PATH="$CLUSTER_HOME/kubeconfig"
CONTEXT="involution-local"

# Loopback ports; away from the defaults so a developer's own cluster is not in the way.
ETCD_PORT="${INVOLUTION_CLUSTER_ETCD_PORT:-23790}"
ETCD_PEER_PORT="${INVOLUTION_CLUSTER_ETCD_PEER_PORT:-23800}"
APISERVER_PORT="${INVOLUTION_CLUSTER_APISERVER_PORT:-16443}"
KCM_PORT="${INVOLUTION_CLUSTER_KCM_PORT:-16257}"
SCHEDULER_PORT="${INVOLUTION_CLUSTER_SCHEDULER_PORT:-16259}"
KWOK_PORT="${INVOLUTION_CLUSTER_KWOK_PORT:-16280}"
SERVICE_CIDR="10.96.0.0/16"
NODES=(kwok-node-0 kwok-node-1)
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

log() { echo "cluster: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

mkdir -p "$BIN" "$STAMPS"

stamp_ok() {
  local name="$1" key="$2" f; shift 2
  [[ -f "$STAMPS/$name" && "$(<"$STAMPS/$name")" == "$key" ]] || return 1
  for f in "$@"; do [[ -x "$f" ]] || return 1; done
}
stamp_write() { printf '%s' "$2" > "$STAMPS/$1"; }
install_file() { install -m 0755 "$1" "$2.tmp.$$" && mv -f "$2.tmp.$$" "$2"; }
timed() {
  local label="$1" t0=$SECONDS; shift
  "$@"
  log "$label: $((SECONDS - t0))s"
}

# ------------------------------------------------------------------ build ----
GO_READY=false
go_env() {
  $GO_READY && return 0
  command -v go >/dev/null || die "go is needed to build the cluster and was not found on PATH"
  export CGO_ENABLED=0
  export GOPROXY="${GOPROXY:-https://proxy.golang.org,direct}"
  export GOFLAGS="${GOFLAGS:-} -mod=mod"
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/involution-cluster-build.XXXXXX")"
  trap 'chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
  GO_READY=true
}

mod_dir() {
  local json dir
  json="$(go mod download -json "$1@$2")" || die "go mod download $1@$2 failed: $json"
  dir="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$json")"
  [[ -n "$dir" && -d "$dir" ]] || die "no module directory for $1@$2: $json"
  echo "$dir"
}

# throwaway_module DIR REQUIRE...: an empty main module that requires the given module@version.
throwaway_module() {
  local dir="$1" req; shift
  mkdir -p "$dir"
  (cd "$dir" && go mod init involution.local/cluster-build >/dev/null 2>&1)
  for req in "$@"; do (cd "$dir" && go mod edit -require="$req"); done
}

K8S_BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
K8S_KEY="k8s.io/kubernetes v$K8S_VERSION, staging v0.${K8S_VERSION#1.}, CGO_ENABLED=0"
build_kubernetes() {
  local src dir staging="v0.${K8S_VERSION#1.}" m args=() pkgs=() b
  src="$(mod_dir k8s.io/kubernetes "v$K8S_VERSION")"
  dir="$WORK/kubernetes"
  throwaway_module "$dir" "k8s.io/kubernetes@v$K8S_VERSION"
  # Every `k8s.io/x => ./staging/src/k8s.io/x` of kubernetes' go.mod, at its release.
  while read -r m; do
    [[ "$m" == k8s.io/sample-cli-plugin ]] && continue
    args+=("-replace=$m=$m@$staging")
  done < <(sed -n 's#^[[:space:]]*\(k8s\.io/[^[:space:]]*\) => \./staging/src/.*#\1#p' "$src/go.mod")
  [[ ${#args[@]} -gt 20 ]] || die "found only ${#args[@]} staging modules in $src/go.mod"
  (cd "$dir" && go mod edit "${args[@]}")
  for b in "${K8S_BINARIES[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  (cd "$dir" && go get "${pkgs[@]/%/@v$K8S_VERSION}")
  local v="k8s.io/component-base/version" cv="k8s.io/client-go/pkg/version" minor
  minor="$(cut -d. -f2 <<<"$K8S_VERSION")"
  local ld="-s -w"
  for pkg in "$v" "$cv"; do
    ld+=" -X $pkg.gitVersion=v$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ld+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  mkdir -p "$WORK/out"
  (cd "$dir" && go build -trimpath -ldflags "$ld" -o "$WORK/out/" "${pkgs[@]}")
  for b in "${K8S_BINARIES[@]}"; do install_file "$WORK/out/$b" "$BIN/$b"; done
  stamp_write kubernetes "$K8S_KEY"
}

ETCD_KEY="go.etcd.io/etcd/server/v3 v$ETCD_VERSION, CGO_ENABLED=0"
build_etcd() {
  local dir="$WORK/etcd"
  throwaway_module "$dir" "go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
  (cd "$dir" && go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" >/dev/null)
  (cd "$dir" && go build -trimpath -ldflags "-s -w" -o "$WORK/etcd.bin" go.etcd.io/etcd/server/v3)
  install_file "$WORK/etcd.bin" "$BIN/etcd"
  stamp_write etcd "$ETCD_KEY"
}

KWOK_KEY="sigs.k8s.io/kwok v$KWOK_VERSION, CGO_ENABLED=0, stages node/fast+heartbeat-with-lease pod/fast"
build_kwok() {
  local dir="$WORK/kwok" src
  throwaway_module "$dir" "sigs.k8s.io/kwok@v$KWOK_VERSION"
  (cd "$dir" && go get "sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION" >/dev/null)
  (cd "$dir" && go build -trimpath \
     -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=v$KWOK_VERSION" \
     -o "$WORK/kwok.bin" sigs.k8s.io/kwok/cmd/kwok)
  install_file "$WORK/kwok.bin" "$BIN/kwok"
  # The bundled stages: without any, kwok refuses to start.
  src="$(mod_dir sigs.k8s.io/kwok "v$KWOK_VERSION")"
  mkdir -p "$CLUSTER_HOME/kwok"
  {
    local f first=true
    # As kwokctl: node initialize + heartbeat with lease, and the fast pod stages.
    for f in "$src"/kustomize/stage/node/fast/*.yaml \
             "$src"/kustomize/stage/node/heartbeat-with-lease/*.yaml \
             "$src"/kustomize/stage/pod/fast/*.yaml; do
      [[ "$(basename "$f")" == kustomization.yaml ]] && continue
      $first || echo "---"
      first=false
      cat "$f"
    done
  } > "$CLUSTER_HOME/kwok/stages.yaml.tmp"
  mv -f "$CLUSTER_HOME/kwok/stages.yaml.tmp" "$CLUSTER_HOME/kwok/stages.yaml"
  stamp_write kwok "$KWOK_KEY"
}

build_all() {
  local t0=$SECONDS
  if ! stamp_ok etcd "$ETCD_KEY" "$BIN/etcd"; then
    go_env; timed "built etcd v$ETCD_VERSION" build_etcd
  fi
  if ! stamp_ok kwok "$KWOK_KEY" "$BIN/kwok" || [[ ! -s "$CLUSTER_HOME/kwok/stages.yaml" ]]; then
    go_env; timed "built kwok v$KWOK_VERSION" build_kwok
  fi
  local k8s_bins=() b
  for b in "${K8S_BINARIES[@]}"; do k8s_bins+=("$BIN/$b"); done
  if ! stamp_ok kubernetes "$K8S_KEY" "${k8s_bins[@]}"; then
    go_env; timed "built kubernetes v$K8S_VERSION (${K8S_BINARIES[*]})" build_kubernetes
  fi
  log "binaries ready in $((SECONDS - t0))s: $BIN"
}

# ---------------------------------------------------------- certificates ----
# One CA for serving and client certificates, a front-proxy CA for the request-header
# authenticator the controller-manager and scheduler delegate to, service-account keys.
openssl_quiet() { openssl "$@" 2>/dev/null; }

# cert NAME SUBJECT [SAN]: key and certificate NAME signed by the cluster CA (or $SIGNER).
cert() {
  local name="$1" subject="$2" san="${3:-}" signer="${SIGNER:-ca}" ext="$PKI/$1.ext"
  openssl_quiet genrsa -out "$PKI/$name.key" 2048
  openssl_quiet req -new -key "$PKI/$name.key" -subj "$subject" -out "$PKI/$name.csr"
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if [[ -n "$san" ]]; then
      echo "extendedKeyUsage=serverAuth,clientAuth"
      echo "subjectAltName=$san"
    else
      echo "extendedKeyUsage=clientAuth"
    fi
  } > "$ext"
  openssl_quiet x509 -req -in "$PKI/$name.csr" -CA "$PKI/$signer.crt" -CAkey "$PKI/$signer.key" \
    -CAcreateserial -days 3650 -sha256 -extfile "$ext" -out "$PKI/$name.crt"
  rm -f "$PKI/$name.csr" "$ext"
}

ca() {
  openssl_quiet req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$PKI/$1.key" -out "$PKI/$1.crt"
}

PKI_KEY="pki v1: ca, front-proxy-ca, apiserver(127.0.0.1,10.96.0.1), admin, kcm, scheduler, kwok, sa"
make_pki() {
  stamp_ok pki "$PKI_KEY" && [[ -s "$PKI/sa.pub" ]] && return 0
  command -v openssl >/dev/null || die "openssl is needed for the cluster's certificates"
  rm -rf "$PKI"; mkdir -p "$PKI"; chmod 700 "$PKI"
  ca ca involution-local-ca
  ca front-proxy-ca involution-local-front-proxy-ca
  cert apiserver "/CN=kube-apiserver" \
    "IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  cert admin "/O=system:masters/CN=involution-admin"
  cert kube-controller-manager "/CN=system:kube-controller-manager"
  cert kube-scheduler "/CN=system:kube-scheduler"
  cert kwok "/O=system:masters/CN=kwok-controller"
  SIGNER=front-proxy-ca cert front-proxy-client "/CN=front-proxy-client"
  openssl_quiet genrsa -out "$PKI/sa.key" 2048
  openssl_quiet rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub"
  stamp_write pki "$PKI_KEY"
  log "certificates written to $PKI"
}

# kubeconfig FILE USER CONTEXT: a kubeconfig for one client certificate.
kubeconfig() {
  local file="$1" user="$2" context="$3"
  cat > "$file.tmp" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: $CONTEXT
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority-data: $(base64 -w0 < "$PKI/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 < "$PKI/$user.crt")
    client-key-data: $(base64 -w0 < "$PKI/$user.key")
contexts:
- name: $context
  context:
    cluster: $CONTEXT
    user: $user
current-context: $context
YAML
  chmod 600 "$file.tmp"
  mv -f "$file.tmp" "$file"
}

# ------------------------------------------------------------- processes ----
pid_of() {  # the pid of a component this script started and that still runs, or nothing
  local f="$RUN/$1.pid" pid
  [[ -f "$f" ]] || return 1
  pid="$(<"$f")"
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  # The pid file may be stale and the pid reused: only our binary counts.
  tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q "^$BIN/${2:-$1} " || return 1
  echo "$pid"
}

# start NAME ARGS...: run $BIN/NAME (or $BIN/$BINARY) in its own session, log to run/NAME.log
start() {
  local name="$1"; shift
  if pid_of "$name" >/dev/null; then return 0; fi
  setsid "$BIN/${BINARY:-$name}" "$@" >"$RUN/$name.log" 2>&1 < /dev/null &
  echo $! > "$RUN/$name.pid"
}

port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

kctl() { "$BIN/kubectl" --kubeconfig "$KUBECONFIG_PATH" --context "$CONTEXT" "$@"; }

wait_for() {  # wait_for SECONDS WHAT CMD...: poll CMD every 0.2 s
  local limit="$1" what="$2" t0=$SECONDS; shift 2
  until "$@" >/dev/null 2>&1; do
    if (( SECONDS - t0 >= limit )); then
      die "$what not ready after ${limit}s (logs in $RUN)"
    fi
    sleep 0.2
  done
}

etcd_healthy() { curl -fsS "http://127.0.0.1:$ETCD_PORT/health" | grep -q '"health":"true"'; }
apiserver_ready() { kctl get --raw /readyz; }
component_healthy() {  # component_healthy PORT: /healthz of a secure port (anonymous allowed)
  curl -fsSk "https://127.0.0.1:$1/healthz" | grep -q ok
}
nodes_ready() {
  local n
  for n in "${NODES[@]}"; do
    [[ "$(kctl get node "$n" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" == True ]] || return 1
  done
}

# apiserver_flags PORT ETCD_PREFIX: the API server's flags.
apiserver_flags() {
  APISERVER_FLAGS=(
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" --etcd-prefix "$2"
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$1"
    --endpoint-reconciler-type none
    --service-cluster-ip-range "$SERVICE_CIDR"
    --client-ca-file "$PKI/ca.crt"
    --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key"
    --service-account-issuer https://kubernetes.default.svc.cluster.local
    --service-account-key-file "$PKI/sa.pub"
    --service-account-signing-key-file "$PKI/sa.key"
    --authorization-mode "Node,RBAC"
    --requestheader-client-ca-file "$PKI/front-proxy-ca.crt"
    --requestheader-allowed-names front-proxy-client
    --requestheader-username-headers X-Remote-User
    --requestheader-group-headers X-Remote-Group
    --requestheader-extra-headers-prefix X-Remote-Extra-
    --proxy-client-cert-file "$PKI/front-proxy-client.crt"
    --proxy-client-key-file "$PKI/front-proxy-client.key"
    --enable-priority-and-fairness=false
    --profiling=false
  )
}

start_all() {
  local name port
  mkdir -p "$RUN" "$DATA"
  make_pki
  kubeconfig "$KUBECONFIG_PATH" admin "$CONTEXT"
  kubeconfig "$RUN/kube-controller-manager.kubeconfig" kube-controller-manager default
  kubeconfig "$RUN/kube-scheduler.kubeconfig" kube-scheduler default
  kubeconfig "$RUN/kwok.kubeconfig" kwok default
  for name in etcd:$ETCD_PORT etcd-peer:$ETCD_PEER_PORT kube-apiserver:$APISERVER_PORT \
              kube-controller-manager:$KCM_PORT kube-scheduler:$SCHEDULER_PORT kwok:$KWOK_PORT; do
    port="${name#*:}"; name="${name%%:*}"
    if ! pid_of "${name%-peer}" >/dev/null && ! port_free "$port"; then
      die "127.0.0.1:$port ($name) is in use by another process; set INVOLUTION_CLUSTER_*_PORT"
    fi
  done

  start etcd --name involution-local --data-dir "$DATA/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "involution-local=http://127.0.0.1:$ETCD_PEER_PORT" \
    --quota-backend-bytes 2147483648 \
    --unsafe-no-fsync=true --log-level warn
  wait_for 30 etcd etcd_healthy

  apiserver_flags "$APISERVER_PORT" /registry
  start kube-apiserver "${APISERVER_FLAGS[@]}"
  wait_for 60 kube-apiserver apiserver_ready

  local delegated=(
    --authentication-kubeconfig "$RUN/NAME.kubeconfig"
    --authorization-kubeconfig "$RUN/NAME.kubeconfig"
    --client-ca-file "$PKI/ca.crt"
    --requestheader-client-ca-file "$PKI/front-proxy-ca.crt"
    --requestheader-allowed-names front-proxy-client
    --bind-address 127.0.0.1 --leader-elect=false --profiling=false
  )
  start kube-controller-manager "${delegated[@]//NAME/kube-controller-manager}" \
    --kubeconfig "$RUN/kube-controller-manager.kubeconfig" --secure-port "$KCM_PORT" \
    --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
    --use-service-account-credentials=true \
    --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --controllers '*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller'
  start kube-scheduler "${delegated[@]//NAME/kube-scheduler}" \
    --kubeconfig "$RUN/kube-scheduler.kubeconfig" --secure-port "$SCHEDULER_PORT"
  start kwok --kubeconfig "$RUN/kwok.kubeconfig" --config "$CLUSTER_HOME/kwok/stages.yaml" \
    --manage-all-nodes=false \
    --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --node-lease-duration-seconds 40 --node-ip 127.0.0.1 --cidr 10.244.0.0/16 \
    --server-address "127.0.0.1:$KWOK_PORT"
  wait_for 60 kube-controller-manager component_healthy "$KCM_PORT"
  wait_for 60 kube-scheduler component_healthy "$SCHEDULER_PORT"

  for name in "${NODES[@]}"; do
    kctl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Node
metadata:
  name: $name
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/hostname: $name
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    kubernetes.io/role: agent
    type: kwok
YAML
  done
  wait_for 60 "the kwok nodes" nodes_ready
  # Pods need the namespace's default ServiceAccount, made by the controller-manager.
  wait_for 60 "the default ServiceAccount" kctl get serviceaccount default -n default
}

# ---------------------------------------------------- Prometheus Operator CRDs ----
crd_dir() {
  local dir
  go_env
  dir="$(mod_dir github.com/prometheus-operator/prometheus-operator "$PROMETHEUS_OPERATOR_VERSION")"
  echo "$dir/example/prometheus-operator-crd"
}

apply_crds() {
  local dir
  dir="$(crd_dir)"
  # Server-side, as the operator's own docs say: the CRDs are too large for the
  # last-applied-configuration annotation of a client-side apply.
  kctl apply --server-side --force-conflicts -f "$dir" >/dev/null
  kctl wait --for condition=Established --timeout 60s -f "$dir" >/dev/null
  log "Prometheus Operator $PROMETHEUS_OPERATOR_VERSION CRDs applied ($(find "$dir" -name '*.yaml' | wc -l) from $dir)"
}

delete_crds() {
  kctl delete --ignore-not-found --wait=true -f "$(crd_dir)" >/dev/null
  log "Prometheus Operator CRDs deleted"
}

# ------------------------------------------------------------ bare API server ----
# A second API server on the same etcd under its own key prefix: an empty cluster with no
# CRDs and no controllers, for checks of a stack against a cluster without the Prometheus
# Operator. Its kubeconfig names the same context, so a stack config works on either.
BARE_PORT="${INVOLUTION_CLUSTER_BARE_APISERVER_PORT:-16444}"
BARE_KUBECONFIG="$CLUSTER_HOME/kubeconfig-bare"
bare_ready() {
  "$BIN/kubectl" --kubeconfig "$BARE_KUBECONFIG" get --raw /readyz
}
bare_up() {
  pid_of etcd >/dev/null || die "the cluster is not running: scripts/cluster.sh up first"
  if ! pid_of kube-apiserver-bare kube-apiserver >/dev/null && ! port_free "$BARE_PORT"; then
    die "127.0.0.1:$BARE_PORT is in use; set INVOLUTION_CLUSTER_BARE_APISERVER_PORT"
  fi
  apiserver_flags "$BARE_PORT" /registry-bare
  if ! pid_of kube-apiserver-bare kube-apiserver >/dev/null; then
    BINARY=kube-apiserver start kube-apiserver-bare "${APISERVER_FLAGS[@]}"
  fi
  APISERVER_PORT="$BARE_PORT" kubeconfig "$BARE_KUBECONFIG" admin "$CONTEXT"
  wait_for 60 "the bare kube-apiserver" bare_ready
  echo "$BARE_KUBECONFIG"
}
bare_down() {
  local pid
  if pid="$(pid_of kube-apiserver-bare kube-apiserver)"; then
    kill "$pid"
    for _ in $(seq 50); do [[ -d "/proc/$pid" ]] || break; sleep 0.1; done
    [[ -d "/proc/$pid" ]] && kill -9 "$pid" 2>/dev/null
  fi
  rm -f "$RUN/kube-apiserver-bare.pid"
}

# ------------------------------------------------------------------ verbs ----
stop_all() {
  local name pid i stopped=()
  for (( i=${#COMPONENTS[@]}-1; i>=0; i-- )); do
    name="${COMPONENTS[$i]}"
    if pid="$(pid_of "$name")"; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do [[ -d "/proc/$pid" ]] || break; sleep 0.1; done
      [[ -d "/proc/$pid" ]] && kill -9 "$pid" 2>/dev/null
      stopped+=("$name")
    fi
    rm -f "$RUN/$name.pid"
  done
  log "stopped: ${stopped[*]:-nothing was running}"
}

status() {
  local name pid rc=0
  for name in "${COMPONENTS[@]}"; do
    if pid="$(pid_of "$name")"; then
      printf '%-24s running (pid %s, %s MB)\n' "$name" "$pid" \
        "$(( $(awk '/VmRSS/ {print $2}' "/proc/$pid/status") / 1024 ))"
    else
      printf '%-24s stopped\n' "$name"; rc=1
    fi
  done
  if [[ -s "$KUBECONFIG_PATH" ]] && apiserver_ready >/dev/null 2>&1; then
    echo "api server: https://127.0.0.1:$APISERVER_PORT ready," \
      "$(kctl get --raw /version | sed -n 's/.*"gitVersion": *"\([^"]*\)".*/\1/p')"
    kctl get nodes --no-headers 2>/dev/null | sed 's/^/node: /'
    if kctl get crd prometheusrules.monitoring.coreos.com >/dev/null 2>&1; then
      echo "monitoring.coreos.com CRDs: installed"
    else
      echo "monitoring.coreos.com CRDs: absent"
    fi
  else
    echo "api server: not answering"; rc=1
  fi
  echo "kubeconfig: $KUBECONFIG_PATH (context $CONTEXT)"
  return $rc
}

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}

verb="${1:-}"; shift || true
with_crds=true
for arg in "$@"; do
  case "$arg" in
    --with-prometheus-operator-crds) with_crds=true ;;
    --without-prometheus-operator-crds) with_crds=false ;;
    *) usage ;;
  esac
done

case "$verb" in
  build) build_all ;;
  up)
    t0=$SECONDS
    build_all
    t1=$SECONDS
    start_all
    if $with_crds; then apply_crds; fi
    log "cluster ready in $((SECONDS - t1))s (build/cache check $((t1 - t0))s); context $CONTEXT"
    echo "$KUBECONFIG_PATH"
    ;;
  down) bare_down; stop_all ;;
  bare-up) bare_up ;;
  bare-down) bare_down ;;
  status) status ;;
  crds) apply_crds ;;
  delete-crds) delete_crds ;;
  kubeconfig) echo "$KUBECONFIG_PATH" ;;
  bin) echo "$BIN" ;;
  *) usage ;;
esac
