# TEST DOUBLE - NOT KUBERNETES. The Python package behind the kubeadm/kubelet/kubectl/ctr test doubles of Ipv6Dind.
