package containerd

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"

	gocni "github.com/containerd/go-cni"
	"golang.org/x/sys/unix"

	"github.com/batonhq/baton/runtime"
)

// network runs the CNI plugins that give sandboxes their network. It loads
// its config on first use, so a Runtime whose sandboxes all use the host's
// network needs no CNI at all; the config is read once (restart Baton to
// change it).
type network struct {
	o options

	mu  sync.Mutex // guards cni
	cni gocni.CNI
}

func newNetwork(o options) *network { return &network{o: o} }

// defaultIfName is the sandbox's interface on the first network.
const defaultIfName = "eth0"

// load returns the CNI, loading its config if need be.
func (n *network) load() (gocni.CNI, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cni != nil {
		return n.cni, nil
	}
	confDir := n.o.cniConfDir
	if confDir == "" {
		confDir = n.o.cniConfPath()
		if err := n.writeDefaultConfig(confDir); err != nil {
			return nil, err
		}
	}
	c, err := gocni.New(
		gocni.WithPluginDir(n.o.cniPluginDirs),
		gocni.WithPluginConfDir(confDir),
		gocni.WithMinNetworkCount(2),
	)
	if err != nil {
		return nil, fmt.Errorf("containerd runtime: set up CNI: %w", err)
	}
	if err := c.Load(gocni.WithLoNetwork, gocni.WithDefaultConf); err != nil {
		return nil, fmt.Errorf("containerd runtime: load the CNI config in %s: %w (put a *.conflist there, or leave WithCNIConfDir unset for Baton's own bridge network)", confDir, err)
	}
	n.cni = c
	return c, nil
}

// writeDefaultConfig writes Baton's own bridge network into dir, with its
// IPAM reservations under the state dir.
func (n *network) writeDefaultConfig(dir string) error {
	return WriteBridgeConfig(dir, n.o.bridge, n.o.subnet, filepath.Join(n.o.cniDir(), "networks"))
}

// WriteBridgeConfig writes into dir, as 10-baton.conflist, the CNI network
// the Runtime makes for itself when WithCNIConfDir is not given: a bridge
// with host-local IPAM (its reservations under ipamDir), masquerading for
// traffic leaving the node, and portmap for host ports. A program that
// starts containers beside Baton's (a benchmark's baseline, say) can join
// the very same network.
func WriteBridgeConfig(dir, bridge, subnet, ipamDir string) error {
	if len(bridge) > 15 {
		return fmt.Errorf("containerd runtime: bridge name %q is longer than Linux's 15 bytes; see WithBridgeNetwork", bridge)
	}
	prefix, err := netip.ParsePrefix(subnet)
	if err != nil {
		return fmt.Errorf("containerd runtime: subnet %q: %w; see WithBridgeNetwork", subnet, err)
	}
	defaultRoute := "0.0.0.0/0"
	if prefix.Addr().Is6() {
		defaultRoute = "::/0"
	}
	conf := map[string]any{
		"cniVersion": "1.0.0",
		"name":       "baton-" + bridge,
		"plugins": []map[string]any{
			{
				"type":        "bridge",
				"bridge":      bridge,
				"isGateway":   true,
				"ipMasq":      true,
				"promiscMode": true,
				"ipam": map[string]any{
					"type":    "host-local",
					"ranges":  [][]map[string]string{{{"subnet": prefix.Masked().String()}}},
					"routes":  []map[string]string{{"dst": defaultRoute}},
					"dataDir": ipamDir,
				},
			},
			{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}},
		},
	}
	data, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return fmt.Errorf("containerd runtime: encode the default CNI config: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("containerd runtime: write the default CNI config: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "10-baton.conflist"), data, 0o644); err != nil {
		return fmt.Errorf("containerd runtime: write the default CNI config: %w", err)
	}
	return nil
}

// namespaceOpts are the per-sandbox arguments of the CNI plugins: host
// ports for portmap, and the Pod's identity as the kubelet passes it.
func namespaceOpts(id string, cfg runtime.SandboxConfig) []gocni.NamespaceOpts {
	var pms []gocni.PortMapping
	for _, pm := range cfg.PortMappings {
		if pm.HostPort == 0 {
			continue
		}
		proto := strings.ToLower(pm.Protocol)
		if proto == "" {
			proto = "tcp"
		}
		pms = append(pms, gocni.PortMapping{HostPort: pm.HostPort, ContainerPort: pm.ContainerPort, Protocol: proto, HostIP: pm.HostIP})
	}
	return []gocni.NamespaceOpts{
		gocni.WithCapabilityPortMap(pms),
		gocni.WithLabels(map[string]string{
			"IgnoreUnknown":              "1",
			"K8S_POD_NAMESPACE":          cfg.Namespace,
			"K8S_POD_NAME":               cfg.Name,
			"K8S_POD_INFRA_CONTAINER_ID": id,
			"K8S_POD_UID":                cfg.UID,
		}),
	}
}

// setup attaches the network namespace at nsPath to the network and
// returns the sandbox's IP.
func (n *network) setup(ctx context.Context, id, nsPath string, cfg runtime.SandboxConfig) (string, error) {
	c, err := n.load()
	if err != nil {
		return "", err
	}
	res, err := c.Setup(ctx, id, nsPath, namespaceOpts(id, cfg)...)
	if err != nil {
		return "", fmt.Errorf("containerd runtime: set up the network of sandbox %s: %w", id, err)
	}
	iface := res.Interfaces[defaultIfName]
	if iface == nil || len(iface.IPConfigs) == 0 {
		return "", fmt.Errorf("containerd runtime: set up the network of sandbox %s: the CNI plugins gave %s no IP", id, defaultIfName)
	}
	ip := iface.IPConfigs[0].IP
	for _, c := range iface.IPConfigs {
		if c.IP.To4() != nil {
			ip = c.IP
			break
		}
	}
	return ip.String(), nil
}

// teardown detaches sandbox id from the network, releasing its IP. An
// empty nsPath (the namespace is gone) still releases the IP.
func (n *network) teardown(ctx context.Context, id, nsPath string, cfg runtime.SandboxConfig) error {
	c, err := n.load()
	if err != nil {
		return err
	}
	if err := c.Remove(ctx, id, nsPath, namespaceOpts(id, cfg)...); err != nil {
		return fmt.Errorf("containerd runtime: tear down the network of sandbox %s: %w", id, err)
	}
	return nil
}

// netnsMounted reports whether path holds a mounted network namespace.
func netnsMounted(path string) bool {
	if path == "" {
		return false
	}
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return false
	}
	return st.Type == unix.NSFS_MAGIC
}
