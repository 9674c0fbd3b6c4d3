//! `skiff-agent`: Skiff's node agent (its kubelet). It will register the node with the API
//! server, keep the node's lease, watch the pods bound to it and run their containers
//! through `skiff-runtime`. Nothing is implemented yet.
