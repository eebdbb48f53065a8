# shellcheck shell=bash disable=SC2034
# pins.sh - the versions the local cluster is built from (sourced by cluster.sh and node.sh).
# Every one is checked against the Go module proxy; a changed pin rebuilds what it names.
#  * k8s.io/kubernetes v$K8S_VERSION: the control plane, kubectl, kubelet and kube-proxy; its
#    staging modules at their published v0.<minor>.<patch>.
#  * etcd from go.etcd.io/etcd/server/v3 (Debian's 3.4 stalls the API server's watches).
#  * CoreDNS from github.com/coredns/coredns; crane from github.com/google/go-containerregistry.
#  * The Prometheus Operator's CRDs as kube-prometheus-stack applies them (tests/crd_schemas.py
#    reads the same version: bump together).
K8S_VERSION="1.36.3"
ETCD_VERSION="3.6.16"
COREDNS_VERSION="1.14.7"
CRANE_VERSION="0.22.1"
PROMETHEUS_OPERATOR_VERSION="v0.85.0"
