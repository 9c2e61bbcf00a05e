// Command nri-hostpython is an NRI plugin for the test node: it adds read-only bind mounts of
// the host's Python installation and the project's checkout (with its virtual environment)
// to every container the node creates, so pods run the project's code with a tiny local image
// and unchanged pod specs. containerd starts it from its NRI plugin directory and hands it
// its configuration file (JSON: {"mounts": [{"source": "/usr", "destination": "/usr"}]}).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/containerd/nri/pkg/api"
	"github.com/containerd/nri/pkg/stub"
)

type mount struct {
	Source      string `json:"source"`
	Destination string `json:"destination"`
}

type plugin struct {
	mounts []mount
}

func (p *plugin) Configure(_ context.Context, config, runtime, version string) (stub.EventMask, error) {
	var c struct {
		Mounts []mount `json:"mounts"`
	}
	if err := json.Unmarshal([]byte(config), &c); err != nil {
		return 0, fmt.Errorf("nri-hostpython: bad configuration %q: %w", config, err)
	}
	if len(c.Mounts) == 0 {
		return 0, fmt.Errorf("nri-hostpython: no mounts configured")
	}
	p.mounts = c.Mounts
	fmt.Fprintf(os.Stderr, "nri-hostpython: %s %s, %d mounts\n", runtime, version, len(p.mounts))
	return api.MustParseEventMask("CreateContainer"), nil
}

func (p *plugin) CreateContainer(_ context.Context, _ *api.PodSandbox, _ *api.Container) (*api.ContainerAdjustment, []*api.ContainerUpdate, error) {
	adj := &api.ContainerAdjustment{}
	for _, m := range p.mounts {
		adj.AddMount(&api.Mount{
			Source:      m.Source,
			Destination: m.Destination,
			Type:        "bind",
			Options:     []string{"rbind", "ro", "nosuid", "nodev"},
		})
	}
	return adj, nil, nil
}

func main() {
	// Name, index and socket come from containerd when it starts the plugin; passing them
	// here as well makes registration fail.
	s, err := stub.New(&plugin{}, stub.WithOnClose(func() { os.Exit(0) }))
	if err != nil {
		fmt.Fprintf(os.Stderr, "nri-hostpython: %v\n", err)
		os.Exit(1)
	}
	if err := s.Run(context.Background()); err != nil {
		fmt.Fprintf(os.Stderr, "nri-hostpython: %v\n", err)
		os.Exit(1)
	}
}
