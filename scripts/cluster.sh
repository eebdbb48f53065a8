#!/usr/bin/env bash
# cluster.sh - a local Kubernetes cluster on loopback, for `pulumi up` against a live API
# server with pods that really run: etcd, kube-apiserver, kube-controller-manager and
# kube-scheduler, one real node (scripts/node.sh: containerd, kubelet, kube-proxy, CoreDNS,
# the images of the release built locally) and a Prometheus scraping the pods as the
# ServiceMonitors say (tools.servicemonitor_scrape), all built from Go modules served by the
# Go module proxy and Debian's packages (no GitHub, no container registry).
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
#         scripts/cluster.sh prometheus-url  # the Prometheus the `local` stack's analysis asks
#         scripts/cluster.sh leftovers     # after `down`: what the node left behind (exit 1 if any)
#   up --without-prometheus-operator-crds: does not apply the monitoring.coreos.com CRDs (those
#   of an earlier `up` stay in etcd: `delete-crds` removes them)
#   (the default applies them, as kube-prometheus-stack would).
#
# Everything lives in CLUSTER_HOME=${INVOLUTION_CLUSTER_HOME:-$HOME/.cache/involution-cluster}:
#   bin/        etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl,
#               kubelet, kube-proxy, coredns, crane
#   stamps/     one per component: the versions it was built from (a changed pin rebuilds)
#   pki/        CA, serving and client certificates, front-proxy CA, service-account keys
#   data/       etcd's data; run/ pid files and logs; kubeconfig (context involution-local)
#   node/       the node's containerd (with its images), kubelet and CNI state (node.sh)
#   prometheus/ its scrape config (generated) and data
# Pins: scripts/lib/pins.sh. The real node needs root; `up` as another user fails saying so.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib/pins.sh
. "$ROOT/scripts/lib/pins.sh"
# shellcheck source=scripts/lib/network.sh
. "$ROOT/scripts/lib/network.sh"
LOG_NAME=cluster
CLUSTER_HOME=${INVOLUTION_CLUSTER_HOME:-$HOME/.cache/involution-cluster}:
#   bin/        etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl,
#               kubelet, kube-proxy, coredns, crane
#   stamps/     one per component: the versions it was built from (a changed pin rebuilds)
#   pki/        CA, serving and client certificates, front-proxy CA, service-account keys
#   data/       etcd's data; run/ pid files and logs; kubeconfig (context involution-local)
#   node/       the node's containerd (with its images), kubelet and CNI state (node.sh)
#   prometheus/ its scrape config (generated) and data
# Pins: scripts/lib/pins.sh. The real node needs root; `up` as another user fails saying so.
set -euo pipefail

CLUSTER_HOME="${INVOLUTION_CLUSTER_HOME:-$HOME/.cache/involution-cluster}"
BIN="$CLUSTER_HOME/bin"
STAMPS="$CLUSTER_HOME/stamps"
PKI="$CLUSTER_HOME/pki"
RUN="$CLUSTER_HOME/run"
DATA="$CLUSTER_HOME/data"
KUBECONFIG_PATH="$CLUSTER_HOME/kubeconfig"

# Loopback ports; away from the defaults so a developer's own cluster is not in the way.
ETCD_PORT="${INVOLUTION_CLUSTER_ETCD_PORT:-23790}"
ETCD_PEER_PORT="${INVOLUTION_CLUSTER_ETCD_PEER_PORT:-23800}"
APISERVER_PORT="${INVOLUTION_CLUSTER_APISERVER_PORT:-16443}"
KCM_PORT="${INVOLUTION_CLUSTER_KCM_PORT:-16257}"
SCHEDULER_PORT="${INVOLUTION_CLUSTER_SCHEDULER_PORT:-16259}"
PROMETHEUS_PORT="${INVOLUTION_CLUSTER_PROMETHEUS_PORT:-19090}"
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler)
# Started by an earlier version of this script: stopped by `down`, never started again.
RETIRED=(kwok)
PROMETHEUS=/usr/bin/prometheus
PROMETHEUS_HOME="$CLUSTER_HOME/prometheus"

# shellcheck source=scripts/lib/build.sh
. "$ROOT/scripts/lib/build.sh"
# shellcheck source=scripts/lib/proc.sh
. "$ROOT/scripts/lib/proc.sh"
mkdir -p "$BIN" "$STAMPS"

K8S_BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
K8S_KEY="k8s.io/kubernetes v$K8S_VERSION, staging v0.${K8S_VERSION#1.}, CGO_ENABLED=0"

ETCD_KEY="go.etcd.io/etcd/server/v3 v$ETCD_VERSION, CGO_ENABLED=0"
build_etcd() {
  local dir="$WORK/etcd"
  throwaway_module "$dir" "go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
  (cd "$dir" && go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" >/dev/null)
  (cd "$dir" && go build -trimpath -ldflags "-s -w" -o "$WORK/etcd.bin" go.etcd.io/etcd/server/v3)
  install_file "$WORK/etcd.bin" "$BIN/etcd"
  stamp_write etcd "$ETCD_KEY"
}

# The node's binaries (node.sh build) and etcd side by side; the control plane's binaries are
# built with kubelet and kube-proxy in one `go build` (they share most of their packages).
build_all() {
  local t0=$SECONDS node_pid k8s_bins=() b with=()
  for b in "${K8S_BINARIES[@]}"; do k8s_bins+=("$BIN/$b"); done
  stamp_ok kubernetes "$K8S_KEY" "${k8s_bins[@]}" || with=("${K8S_BINARIES[@]}")
  "$ROOT/scripts/node.sh" build "${with[@]}" &
  node_pid=$!
  if ! stamp_ok etcd "$ETCD_KEY" "$BIN/etcd"; then
    go_env; timed "built etcd v$ETCD_VERSION" build_etcd
  fi
  wait "$node_pid" || die "the node's build failed"
  if [[ ${#with[@]} -gt 0 ]]; then
    stamp_write kubernetes "$K8S_KEY"
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
# The node's certificates beside those (an existing PKI is kept: a running API server trusts it).
NODE_PKI_KEY="pki-node v2: kubelet $NODE_NAME (client, serving $BRIDGE_IP), kube-proxy, apiserver-kubelet-client, coredns, prometheus"
make_pki() {
  stamp_ok pki "$PKI_KEY" && [[ -s "$PKI/sa.pub" ]] && return 0
  command -v openssl >/dev/null || die "openssl is needed for the cluster's certificates"
  rm -rf "$PKI"; mkdir -p "$PKI"; chmod 700 "$PKI"
  ca ca involution-local-ca
  ca front-proxy-ca involution-local-front-proxy-ca
  cert apiserver "/CN=kube-apiserver" \
    "IP:127.0.0.1,IP:$KUBERNETES_SERVICE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  cert admin "/O=system:masters/CN=involution-admin"
  cert kube-controller-manager "/CN=system:kube-controller-manager"
  cert kube-scheduler "/CN=system:kube-scheduler"
  cert kwok "/O=system:masters/CN=kwok-controller"
  SIGNER=front-proxy-ca cert front-proxy-client "/CN=front-proxy-client"
  openssl_quiet genrsa -out "$PKI/sa.key" 2048
  openssl_quiet rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub"
  stamp_write pki "$PKI_KEY"
  rm -f "$STAMPS/pki-node"
  log "certificates written to $PKI"
}

make_node_pki() {
  stamp_ok pki-node "$NODE_PKI_KEY" && [[ -s "$PKI/prometheus.crt" ]] && return 0
  cert kubelet "/O=system:nodes/CN=system:node:$NODE_NAME"
  # A client certificate is enough for kubelet's API; its serving one is checked by the API
  # server (--kubelet-certificate-authority) when it asks for logs or an exec.
  cert kubelet-serving "/CN=$NODE_NAME" "IP:$BRIDGE_IP,DNS:$NODE_NAME"
  cert kube-proxy "/CN=system:kube-proxy"
  cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
  cert coredns "/CN=involution-coredns"
  cert prometheus "/CN=involution-prometheus"
  stamp_write pki-node "$NODE_PKI_KEY"
  log "node certificates written to $PKI"
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
kctl() { "$BIN/kubectl" --kubeconfig "$KUBECONFIG_PATH" --context "$CONTEXT" "$@"; }

etcd_healthy() { curl -fsS "http://127.0.0.1:$ETCD_PORT/health" | grep -q '"health":"true"'; }
apiserver_ready() { kctl get --raw /readyz; }
component_healthy() {  # component_healthy PORT: /healthz of a secure port (anonymous allowed)
  curl -fsSk "https://127.0.0.1:$1/healthz" | grep -q ok
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
    # `kubectl logs` and `exec` reach the node's kubelet on 127.0.0.1 with a client certificate.
    --kubelet-preferred-address-types InternalIP
    --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt"
    --kubelet-client-key "$PKI/apiserver-kubelet-client.key"
    --kubelet-certificate-authority "$PKI/ca.crt"
  )
}

start_all() {
  local name port
  mkdir -p "$RUN" "$DATA"
  make_pki
  make_node_pki
  kubeconfig "$KUBECONFIG_PATH" admin "$CONTEXT"
  for name in kube-controller-manager kube-scheduler kubelet kube-proxy coredns prometheus; do
    kubeconfig "$RUN/$name.kubeconfig" "$name" default
  done
  for name in etcd:$ETCD_PORT etcd-peer:$ETCD_PEER_PORT kube-apiserver:$APISERVER_PORT \
              kube-controller-manager:$KCM_PORT kube-scheduler:$SCHEDULER_PORT \
              prometheus:$PROMETHEUS_PORT; do
    port="${name#*:}"; name="${name%%:*}"
    if ! pid_of "${name%-peer}" >/dev/null && ! port_free "$port"; then
      die "127.0.0.1:$port ($name) is in use by another process; set INVOLUTION_CLUSTER_*_PORT"
    fi
  done

  start etcd "$BIN/etcd" --name involution-local --data-dir "$DATA/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "involution-local=http://127.0.0.1:$ETCD_PEER_PORT" \
    --quota-backend-bytes 2147483648 \
    --unsafe-no-fsync=true --log-level warn
  wait_for 30 etcd etcd_healthy

  apiserver_flags "$APISERVER_PORT" /registry
  start kube-apiserver "$BIN/kube-apiserver" "${APISERVER_FLAGS[@]}"
  wait_for 60 kube-apiserver apiserver_ready

  local delegated=(
    --authentication-kubeconfig "$RUN/NAME.kubeconfig"
    --authorization-kubeconfig "$RUN/NAME.kubeconfig"
    --client-ca-file "$PKI/ca.crt"
    --requestheader-client-ca-file "$PKI/front-proxy-ca.crt"
    --requestheader-allowed-names front-proxy-client
    --bind-address 127.0.0.1 --leader-elect=false --profiling=false
  )
  start kube-controller-manager "$BIN/kube-controller-manager" "${delegated[@]//NAME/kube-controller-manager}" \
    --kubeconfig "$RUN/kube-controller-manager.kubeconfig" --secure-port "$KCM_PORT" \
    --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
    --use-service-account-credentials=true \
    --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --controllers '*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller'
  start kube-scheduler "$BIN/kube-scheduler" "${delegated[@]//NAME/kube-scheduler}" \
    --kubeconfig "$RUN/kube-scheduler.kubeconfig" --secure-port "$SCHEDULER_PORT"
  wait_for 60 kube-controller-manager component_healthy "$KCM_PORT"
  wait_for 60 kube-scheduler component_healthy "$SCHEDULER_PORT"

  # The fake nodes of an earlier version of this script (kwok): gone, their pods with them.
  kctl delete nodes -l type=kwok --ignore-not-found >/dev/null
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

# ------------------------------------------------------------- Prometheus ----
# Debian's prometheus on 127.0.0.1, scraping the pods as the cluster's ServiceMonitors say and
# evaluating its PrometheusRules (tools.servicemonitor_scrape keeps the configuration in step
# and reloads it); the `local` stack's monitoring.prometheusUrl.
prometheus_ready() { curl -fsS "http://127.0.0.1:$PROMETHEUS_PORT/-/ready"; }
python_of_project() {
  [[ -x "$ROOT/venv/bin/python" ]] || "$ROOT/scripts/venv.sh" requirements-dev.txt >&2
  echo "$ROOT/venv/bin/python"
}
start_prometheus() {
  [[ -x "$PROMETHEUS" ]] || "$ROOT/scripts/install_test_tools.sh"
  local python sync
  python="$(python_of_project)"
  sync=(-m tools.servicemonitor_scrape --kubeconfig "$RUN/prometheus.kubeconfig"
        --out "$PROMETHEUS_HOME")
  mkdir -p "$PROMETHEUS_HOME/data"
  (cd "$ROOT" && "$python" "${sync[@]}") || die "could not write the Prometheus configuration"
  start prometheus "$PROMETHEUS" --config.file "$PROMETHEUS_HOME/prometheus.yml" \
    --storage.tsdb.path "$PROMETHEUS_HOME/data" --storage.tsdb.retention.time 2d \
    --web.listen-address "127.0.0.1:$PROMETHEUS_PORT" --web.enable-lifecycle
  wait_for 60 prometheus prometheus_ready
  # A Prometheus that ran already reads the configuration just written.
  curl -fsS -X POST "http://127.0.0.1:$PROMETHEUS_PORT/-/reload" >/dev/null \
    || die "Prometheus refused its configuration (see $RUN/prometheus.log)"
  (cd "$ROOT" && start servicemonitor-scrape "$python" "${sync[@]}" --watch 2 \
     --reload "http://127.0.0.1:$PROMETHEUS_PORT/-/reload")
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
  if ! pid_of kube-apiserver-bare "$BIN/kube-apiserver" >/dev/null && ! port_free "$BARE_PORT"; then
    die "127.0.0.1:$BARE_PORT is in use; set INVOLUTION_CLUSTER_BARE_APISERVER_PORT"
  fi
  apiserver_flags "$BARE_PORT" /registry-bare
  if ! pid_of kube-apiserver-bare "$BIN/kube-apiserver" >/dev/null; then
    start kube-apiserver-bare "$BIN/kube-apiserver" "${APISERVER_FLAGS[@]}"
  fi
  APISERVER_PORT="$BARE_PORT" kubeconfig "$BARE_KUBECONFIG" admin "$CONTEXT"
  wait_for 60 "the bare kube-apiserver" bare_ready
  echo "$BARE_KUBECONFIG"
}
bare_down() {
  stop kube-apiserver-bare || true
}

# ------------------------------------------------------------------ verbs ----
stop_all() {
  local name i stopped=()
  for name in servicemonitor-scrape prometheus; do
    stop "$name" && stopped+=("$name")
  done
  if [[ -d "$CLUSTER_HOME/node" || -d /run/involution-node ]]; then
    "$ROOT/scripts/node.sh" down
  fi
  for name in "${RETIRED[@]}"; do stop "$name" && stopped+=("$name"); done
  for (( i=${#COMPONENTS[@]}-1; i>=0; i-- )); do
    name="${COMPONENTS[$i]}"
    stop "$name" && stopped+=("$name")
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
    "$ROOT/scripts/node.sh" status || rc=1
    if kctl get crd prometheusrules.monitoring.coreos.com >/dev/null 2>&1; then
      echo "monitoring.coreos.com CRDs: installed"
    else
      echo "monitoring.coreos.com CRDs: absent"
    fi
  else
    echo "api server: not answering"; rc=1
  fi
  if prometheus_ready >/dev/null 2>&1; then
    echo "prometheus: http://127.0.0.1:$PROMETHEUS_PORT ready," \
      "$(grep -c 'job_name:' "$PROMETHEUS_HOME/prometheus.yml") scrape jobs"
  else
    echo "prometheus: not answering"; rc=1
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
    timed "node" "$ROOT/scripts/node.sh" up
    if $with_crds; then apply_crds; fi
    timed "prometheus" start_prometheus
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
  prometheus-url) echo "http://127.0.0.1:$PROMETHEUS_PORT" ;;
  leftovers) "$ROOT/scripts/node.sh" leftovers ;;
  bin) echo "$BIN" ;;
  *) usage ;;
esac
