# shellcheck shell=bash disable=SC2034
# network.sh - the local cluster's addresses (sourced by cluster.sh and node.sh). Nothing of
# the cluster listens beyond 127.0.0.1 and the node's own bridge, whose address is the node's
# InternalIP (kubelet refuses a loopback one): the API server reaches kubelet there for
# `kubectl logs` and `exec`, and the pods reach CoreDNS there.
CONTEXT="involution-local"
SERVICE_CIDR="10.96.0.0/16"
KUBERNETES_SERVICE_IP="10.96.0.1"
DNS_SERVICE_IP="10.96.0.10"
CLUSTER_CIDR="10.244.0.0/16"
POD_SUBNET="10.244.0.0/24"
BRIDGE="involution0"
BRIDGE_IP="10.244.0.1"
NODE_NAME="involution-node"
