"""The local Kubernetes cluster: its script, releases on its real node, NetworkPolicy semantics,
the stand-in engine versions its images are built for."""
