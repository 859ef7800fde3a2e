package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// build is what the Go toolchain stamped into the binary: the module's
// version and the commit it was built from (go build and go install stamp
// both from the repository's VCS; a test binary has neither).
type build struct {
	// Version is the main module's version: a tag (v1.2.0), a pseudo-version
	// of the commit (v0.0.0-20261206120000-9fad9e0c1a2b, "+dirty" when the
	// tree had changes), or "(devel)".
	Version string
	// Revision is the commit, "unknown" when none was stamped; Modified
	// whether the tree had uncommitted changes; Time the commit's time.
	Revision, Time string
	Modified       bool
	// GoVersion is the toolchain that built it.
	GoVersion string
}

// readBuild returns the running binary's build information.
func readBuild() build {
	b := build{Version: "(devel)", Revision: "unknown", GoVersion: runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if v := info.Main.Version; v != "" {
		b.Version = v
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

// versionCommand prints the build information ("scimd version").
func versionCommand(stdout io.Writer) {
	b := readBuild()
	fmt.Fprintf(stdout, "scimd %s\n", b.Version)
	rev := b.Revision
	if b.Modified {
		rev += " (modified)"
	}
	fmt.Fprintf(stdout, "revision: %s\n", rev)
	if b.Time != "" {
		fmt.Fprintf(stdout, "commit time: %s\n", b.Time)
	}
	fmt.Fprintf(stdout, "go: %s\n", b.GoVersion)
}

// buildInfoGauge is scimd_build_info{version,revision,goversion} 1, the
// Prometheus convention for telling which build a target runs (join on it
// to compare replicas during a rollout).
func buildInfoGauge() prometheus.Collector {
	b := readBuild()
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "scimd_build_info",
		Help:        "The running scimd build: module version, VCS revision and Go version; always 1.",
		ConstLabels: prometheus.Labels{"version": b.Version, "revision": b.Revision, "goversion": b.GoVersion},
	})
	g.Set(1)
	return g
}
