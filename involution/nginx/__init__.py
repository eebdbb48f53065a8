"""The traffic router's nginx.conf: the split, the traffic controls, rendered by crossplane."""
