module jupyter-kf.test/cluster/node/nri

go 1.26.0
