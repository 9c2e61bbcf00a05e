#!/bin/sh
# The MPIJob launcher's init container (image jupyter-kf.test/kubectl-delivery:1): deliver
# kubectl to the launcher, then wait until every host in the hostfile is Ready, so mpirun
# never execs into a worker whose container has not started yet. That is what the upstream
# kubectl-delivery image does (copy, then wait for the workers); no registry is reachable
# here, so the node builds this one from the control plane's own kubectl.
cp /kubectl /opt/kube/kubectl || exit 1
while read -r host _; do
  until /kubectl -n "$NAMESPACE" wait --for=condition=Ready "pod/$host" --timeout=600s; do
    sleep 1
  done
done < /etc/mpi/hostfile
