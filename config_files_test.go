package baton_test

import (
	"bufio"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/runtime"
	"github.com/batonhq/baton/runtime/fake"
)

// tmpfsMagic is the f_type statfs reports for tmpfs.
const tmpfsMagic = 0x01021994

// cfgStateDir returns a state dir for an orchestrator the test starts
// after calling it. Whatever is still mounted under it when the test ends
// (after the orchestrator stops) is unmounted, so the test's directory can
// be removed.
func cfgStateDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, m := range cfgMountsUnder(t, dir) {
			_ = syscall.Unmount(m, syscall.MNT_DETACH)
		}
	})
	return dir
}

// cfgMountsUnder lists the mount points at or under dir.
func cfgMountsUnder(t *testing.T, dir string) []string {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && (fields[4] == dir || strings.HasPrefix(fields[4], dir+"/")) {
			out = append(out, fields[4])
		}
	}
	return out
}

// cfgStarted waits until the named Pod is ready and returns it, what its
// container called name was started with, and the files it sees.
func cfgStarted(t *testing.T, o *baton.Orchestrator, rt *fake.Runtime, pod, container string) (*baton.Pod, runtime.Container, map[string]fake.FileInfo) {
	t.Helper()
	var p *baton.Pod
	waitPods(t, o, "default", pod+" ready", func(pods []*baton.Pod) bool {
		for _, q := range pods {
			if q.Name == pod && q.IsReady() {
				p = q
				return true
			}
		}
		return false
	})
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name != container {
			continue
		}
		c, err := rt.ContainerStatus(context.Background(), containerID(cs))
		if err != nil {
			t.Fatal(err)
		}
		files, err := rt.Files(c.ID)
		if err != nil {
			t.Fatal(err)
		}
		return p, c, files
	}
	t.Fatalf("pod %s has no container %s", pod, container)
	return nil, runtime.Container{}, nil
}

// cfgWaitConfigError waits until the named container of the named Pod
// waits with CreateContainerConfigError and a message holding msg.
func cfgWaitConfigError(t *testing.T, o *baton.Orchestrator, pod, container, msg string) *baton.Pod {
	t.Helper()
	var p *baton.Pod
	waitPods(t, o, "default", pod+"/"+container+" waiting for "+msg, func(pods []*baton.Pod) bool {
		for _, q := range pods {
			if q.Name != pod {
				continue
			}
			for _, cs := range q.Status.ContainerStatuses {
				if w := cs.State.Waiting; cs.Name == container && w != nil && w.Reason == "CreateContainerConfigError" && strings.Contains(w.Message, msg) {
					p = q
					return true
				}
			}
		}
		return false
	})
	return p
}

// cfgMountOf returns the host path of the mount at containerPath.
func cfgMountOf(t *testing.T, c runtime.Container, containerPath string) string {
	t.Helper()
	for _, m := range c.Config.Mounts {
		if m.ContainerPath == containerPath {
			return m.HostPath
		}
	}
	t.Fatalf("no mount at %s in %+v", containerPath, c.Config.Mounts)
	return ""
}

func cfgMode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Mode().Perm()
}

// cfgAsNobody runs argv as uid and gid 65534 and reports whether it
// succeeded.
func cfgAsNobody(t *testing.T, argv ...string) bool {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	return cmd.Run() == nil
}

func cfgVolume(name string, src baton.VolumeSource) baton.Volume {
	return baton.Volume{Name: name, VolumeSource: src}
}

func cfgRef(name string) baton.LocalObjectReference { return baton.LocalObjectReference{Name: name} }

// Without defaultMode, ConfigMap files are 0444 and Secret files 0400; an
// item's mode wins over both. The directories that hold a Pod's volumes
// are their owner's only (0700), and so is the root of a Secret volume
// unless its files' modes open it: a process that is not root reads
// nothing of a Secret, while the container (root) reads every file.
func TestConfigFileModesAndPrivateDirs(t *testing.T) {
	needRoot(t)
	for _, tool := range []string{"cat", "ls"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is needed to read as another user: %v", tool, err)
		}
	}
	state := cfgStateDir(t)
	// Open the way to the state dir, so that only Baton's own modes stand
	// between another user and the files; and a pods directory made wide
	// open by someone else.
	for _, d := range []string{filepath.Dir(filepath.Dir(state)), filepath.Dir(state)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(state, "pods"), 0o755); err != nil {
		t.Fatal(err)
	}
	o, rt := newRunning(t, baton.WithStateDir(state))
	ctx := ctxFor(t)
	if _, err := o.ConfigMaps("default").Create(ctx, &baton.ConfigMap{ObjectMeta: baton.ObjectMeta{Name: "app"},
		Data: map[string]string{"level": "debug", "app.yaml": "port: 80\n"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Secrets("default").Create(ctx, &baton.Secret{ObjectMeta: baton.ObjectMeta{Name: "db"},
		StringData: map[string]string{"password": "s3cret", "user": "admin"}}); err != nil {
		t.Fatal(err)
	}
	p := podOf("p", "", baton.Container{Name: "app", Image: "app", VolumeMounts: []baton.VolumeMount{
		{Name: "config", MountPath: "/etc/app"},
		{Name: "items", MountPath: "/etc/items"},
		{Name: "secret", MountPath: "/run/secrets/db"},
		{Name: "secret-items", MountPath: "/run/secrets/items"},
		{Name: "secret-open", MountPath: "/run/secrets/open"},
	}})
	p.Spec.Volumes = []baton.Volume{
		cfgVolume("config", baton.VolumeSource{ConfigMap: &baton.ConfigMapVolumeSource{LocalObjectReference: cfgRef("app")}}),
		cfgVolume("items", baton.VolumeSource{ConfigMap: &baton.ConfigMapVolumeSource{LocalObjectReference: cfgRef("app"),
			DefaultMode: ptrTo[int32](0o440),
			Items: []baton.KeyToPath{
				{Key: "level", Path: "conf/level.txt"},
				{Key: "app.yaml", Path: "app.yaml", Mode: ptrTo[int32](0o600)},
			}}}),
		cfgVolume("secret", baton.VolumeSource{Secret: &baton.SecretVolumeSource{SecretName: "db"}}),
		cfgVolume("secret-items", baton.VolumeSource{Secret: &baton.SecretVolumeSource{SecretName: "db",
			Items: []baton.KeyToPath{{Key: "password", Path: "pw", Mode: ptrTo[int32](0o440)}}}}),
		// For a container whose image runs it as another user than root.
		cfgVolume("secret-open", baton.VolumeSource{Secret: &baton.SecretVolumeSource{SecretName: "db", DefaultMode: ptrTo[int32](0o444)}}),
	}
	if _, err := o.Pods("default").Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	pod, _, files := cfgStarted(t, o, rt, "p", "app")
	want := map[string]struct {
		data string
		mode fs.FileMode
	}{
		// Through the link the writer makes for an item's directory
		// (conf -> ..data/conf).
		"/etc/items/conf/level.txt":  {"debug", 0o440},
		"/etc/app/level":             {"debug", 0o444},
		"/etc/app/app.yaml":          {"port: 80\n", 0o444},
		"/etc/items/app.yaml":        {"port: 80\n", 0o600},
		"/run/secrets/db/password":   {"s3cret", 0o400},
		"/run/secrets/db/user":       {"admin", 0o400},
		"/run/secrets/items/pw":      {"s3cret", 0o440},
		"/run/secrets/open/password": {"s3cret", 0o444},
		"/run/secrets/open/user":     {"admin", 0o444},
	}
	for path, w := range want {
		f, ok := files[path]
		if !ok {
			t.Errorf("the container does not see %s; it sees %v", path, keys(files))
			continue
		}
		if string(f.Data) != w.data || f.Mode != w.mode {
			t.Errorf("%s: %q mode %04o; want %q mode %04o", path, f.Data, f.Mode, w.data, w.mode)
		}
	}
	if len(files) != len(want) {
		t.Errorf("the container sees %v; want only %d files", keys(files), len(want))
	}

	podDir := filepath.Join(state, "pods", pod.UID)
	volumes := filepath.Join(podDir, "volumes")
	// A Secret volume's root is as open as its files, no more.
	for d, want := range map[string]fs.FileMode{
		podDir: 0o700, volumes: 0o700,
		filepath.Join(volumes, "secret"):       0o700,
		filepath.Join(volumes, "secret-items"): 0o750,
		filepath.Join(volumes, "secret-open"):  0o755,
	} {
		if m := cfgMode(t, d); m != want {
			t.Errorf("%s has mode %04o; want %04o", d, m, want)
		}
	}
	secretFile := filepath.Join(volumes, "secret", "password")
	openFile := filepath.Join(volumes, "secret-open", "password")
	if cfgAsNobody(t, "ls", podDir) || cfgAsNobody(t, "cat", secretFile) || cfgAsNobody(t, "cat", openFile) {
		t.Error("another user on the host reads the Pod's directory or its Secrets")
	}
	// A container sees a volume from its root down, past the Pod's
	// directories: opened by hand, they stand for a container that runs
	// as another user. It reads the Secret whose defaultMode is 0444, and
	// nothing of the one left at the default; a ConfigMap file (0444) it
	// reads too, which shows the check itself works.
	for _, d := range []string{podDir, volumes} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if !cfgAsNobody(t, "cat", filepath.Join(volumes, "config", "level")) {
		t.Fatal("another user cannot read a 0444 ConfigMap file in open directories: the check is broken")
	}
	if !cfgAsNobody(t, "ls", filepath.Dir(openFile)) || !cfgAsNobody(t, "cat", openFile) {
		t.Error("a container running as another user cannot read a Secret volume with defaultMode 0444")
	}
	if cfgAsNobody(t, "ls", filepath.Dir(secretFile)) || cfgAsNobody(t, "cat", secretFile) {
		t.Error("another user reads a Secret volume left at the default modes")
	}
}

// A changed Secret reaches the files of its volume, but neither a subPath
// mount of it nor the environment, which only a restart refreshes, as for
// ConfigMaps and as in Kubernetes.
func TestSecretUpdateReachesFiles(t *testing.T) {
	needRoot(t)
	o, rt := newRunning(t)
	ctx := ctxFor(t)
	if _, err := o.Secrets("default").Create(ctx, &baton.Secret{ObjectMeta: baton.ObjectMeta{Name: "db"},
		StringData: map[string]string{"password": "first", "user": "admin"}}); err != nil {
		t.Fatal(err)
	}
	p := podOf("p", "", baton.Container{Name: "app", Image: "app",
		Env: []baton.EnvVar{{Name: "PASSWORD", ValueFrom: &baton.EnvVarSource{SecretKeyRef: &baton.SecretKeySelector{
			LocalObjectReference: cfgRef("db"), Key: "password"}}}},
		VolumeMounts: []baton.VolumeMount{
			{Name: "secret", MountPath: "/run/secrets/db"},
			{Name: "secret", MountPath: "/run/password", SubPath: "password"},
		}})
	p.Spec.Volumes = []baton.Volume{cfgVolume("secret", baton.VolumeSource{Secret: &baton.SecretVolumeSource{SecretName: "db"}})}
	if _, err := o.Pods("default").Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	_, c, files := cfgStarted(t, o, rt, "p", "app")
	if got := string(files["/run/secrets/db/password"].Data); got != "first" {
		t.Fatalf("password file %q", got)
	}
	sec, err := o.Secrets("default").Get(ctx, "db")
	if err != nil {
		t.Fatal(err)
	}
	sec.Data["password"] = []byte("second")
	delete(sec.Data, "user")
	sec.Data["token"] = []byte("t0k3n")
	if _, err := o.Secrets("default").Update(ctx, sec); err != nil {
		t.Fatal(err)
	}
	poll(t, "the Secret's files updated", func() bool {
		files, _ = rt.Files(c.ID)
		_, user := files["/run/secrets/db/user"]
		return string(files["/run/secrets/db/password"].Data) == "second" && string(files["/run/secrets/db/token"].Data) == "t0k3n" && !user
	})
	if f, ok := files["/run/password"]; ok && string(f.Data) != "first" {
		t.Errorf("the subPath mount changed to %q", f.Data)
	}
	c, _ = rt.ContainerStatus(ctx, c.ID)
	if !strings.Contains(strings.Join(c.Config.Env, " "), "PASSWORD=first") {
		t.Error("the environment of the running container changed")
	}
}

// An emptyDir lives on the node's disk, or on a tmpfs of its own with
// medium Memory, as large as its sizeLimit (64 MiB without one); both are
// private to the Pod and writable.
func TestEmptyDirMedia(t *testing.T) {
	needRoot(t)
	state := cfgStateDir(t)
	var disk syscall.Statfs_t
	if err := syscall.Statfs(state, &disk); err != nil {
		t.Fatal(err)
	}
	if disk.Type == tmpfsMagic {
		t.Skip("the test's temporary directory is on tmpfs: a disk emptyDir cannot be told from a Memory one")
	}
	o, rt := newRunning(t, baton.WithStateDir(state))
	ctx := ctxFor(t)
	p := podOf("p", "", baton.Container{Name: "app", Image: "app", VolumeMounts: []baton.VolumeMount{
		{Name: "disk", MountPath: "/scratch"},
		{Name: "mem", MountPath: "/cache"},
		{Name: "sized", MountPath: "/sized"},
	}})
	p.Spec.Volumes = []baton.Volume{
		cfgVolume("disk", baton.VolumeSource{EmptyDir: &baton.EmptyDirVolumeSource{}}),
		cfgVolume("mem", baton.VolumeSource{EmptyDir: &baton.EmptyDirVolumeSource{Medium: baton.StorageMediumMemory}}),
		cfgVolume("sized", baton.VolumeSource{EmptyDir: &baton.EmptyDirVolumeSource{Medium: baton.StorageMediumMemory,
			SizeLimit: ptrTo(baton.MustParseQuantity("8Mi"))}}),
	}
	if _, err := o.Pods("default").Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	pod, c, _ := cfgStarted(t, o, rt, "p", "app")
	for _, tc := range []struct {
		path  string
		tmpfs bool
		size  uint64
	}{{"/scratch", false, 0}, {"/cache", true, 64 << 20}, {"/sized", true, 8 << 20}} {
		host := cfgMountOf(t, c, tc.path)
		if !strings.HasPrefix(host, filepath.Join(state, "pods", pod.UID)+"/") {
			t.Errorf("%s is mounted from %s, outside the Pod's directory", tc.path, host)
		}
		var st syscall.Statfs_t
		if err := syscall.Statfs(host, &st); err != nil {
			t.Fatal(err)
		}
		if got := st.Type == tmpfsMagic; got != tc.tmpfs {
			t.Errorf("%s (%s): tmpfs %v, want %v", tc.path, host, got, tc.tmpfs)
		}
		if size := st.Blocks * uint64(st.Bsize); tc.tmpfs && size != tc.size {
			t.Errorf("%s: a tmpfs of %d bytes, want %d", tc.path, size, tc.size)
		}
		if err := os.WriteFile(filepath.Join(host, "x"), []byte("written"), 0o644); err != nil {
			t.Errorf("%s is not writable: %v", tc.path, err)
		}
	}
	files, err := rt.Files(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if string(files["/scratch/x"].Data) != "written" || string(files["/cache/x"].Data) != "written" || files["/cache/x"].ReadOnly {
		t.Errorf("the container sees %v", files)
	}
}

// hostPath volumes are checked by type before the container starts:
// Directory and File must exist as such, DirectoryOrCreate and
// FileOrCreate make what is missing; a failed check holds the container
// with CreateContainerConfigError.
func TestHostPathVolumes(t *testing.T) {
	o, rt := newRunning(t)
	ctx := ctxFor(t)
	host := t.TempDir()
	dir := filepath.Join(host, "dir")
	file := filepath.Join(host, "file.conf")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data"), []byte("in dir"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte("a file"), 0o644); err != nil {
		t.Fatal(err)
	}
	hp := func(path string, kind api.HostPathType) baton.VolumeSource {
		return baton.VolumeSource{HostPath: &baton.HostPathVolumeSource{Path: path, Type: &kind}}
	}
	p := podOf("ok", "", baton.Container{Name: "app", Image: "app", VolumeMounts: []baton.VolumeMount{
		{Name: "dir", MountPath: "/host/dir"},
		{Name: "file", MountPath: "/host/file.conf", ReadOnly: true},
		{Name: "new-dir", MountPath: "/host/new-dir"},
		{Name: "new-file", MountPath: "/host/new-file"},
	}})
	p.Spec.Volumes = []baton.Volume{
		cfgVolume("dir", hp(dir, "Directory")),
		cfgVolume("file", hp(file, "File")),
		cfgVolume("new-dir", hp(filepath.Join(host, "made", "here"), "DirectoryOrCreate")),
		cfgVolume("new-file", hp(filepath.Join(host, "made.txt"), "FileOrCreate")),
	}
	if _, err := o.Pods("default").Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	_, c, files := cfgStarted(t, o, rt, "ok", "app")
	if string(files["/host/dir/data"].Data) != "in dir" || files["/host/dir/data"].ReadOnly {
		t.Errorf("/host/dir/data: %+v", files["/host/dir/data"])
	}
	if f := files["/host/file.conf"]; string(f.Data) != "a file" || !f.ReadOnly {
		t.Errorf("/host/file.conf: %+v", f)
	}
	if cfgMountOf(t, c, "/host/dir") != dir {
		t.Errorf("/host/dir is mounted from %s, not %s", cfgMountOf(t, c, "/host/dir"), dir)
	}
	if info, err := os.Stat(filepath.Join(host, "made", "here")); err != nil || !info.IsDir() {
		t.Errorf("DirectoryOrCreate made no directory: %v", err)
	}
	if info, err := os.Stat(filepath.Join(host, "made.txt")); err != nil || !info.Mode().IsRegular() {
		t.Errorf("FileOrCreate made no file: %v", err)
	}

	for _, tc := range []struct {
		name string
		src  baton.VolumeSource
		msg  string
	}{
		{"missing-dir", hp(filepath.Join(host, "nothing"), "Directory"), "is not a directory"},
		{"file-as-dir", hp(file, "Directory"), "is not a directory"},
		{"missing-file", hp(filepath.Join(host, "nothing.conf"), "File"), "is not a regular file"},
		{"dir-as-file", hp(dir, "File"), "is not a regular file"},
	} {
		p := podOf(tc.name, "", baton.Container{Name: "app", Image: "app", VolumeMounts: []baton.VolumeMount{{Name: "v", MountPath: "/v"}}})
		p.Spec.Volumes = []baton.Volume{cfgVolume("v", tc.src)}
		if _, err := o.Pods("default").Create(ctx, p); err != nil {
			t.Fatal(err)
		}
		cfgWaitConfigError(t, o, tc.name, "app", "hostPath volume v: ")
		pod := cfgWaitConfigError(t, o, tc.name, "app", tc.msg)
		if pod.Status.ContainerStatuses[0].ContainerID != "" {
			t.Errorf("%s: a container was made", tc.name)
		}
	}
	if _, err := os.Stat(filepath.Join(host, "nothing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("type Directory made the missing directory: %v", err)
	}
}

// A subPath that leads out of its volume through a link planted in it is
// refused with CreateContainerConfigError, whether the link is absolute or
// climbs out with "..".
func TestSubPathSymlinkEscapeRefused(t *testing.T) {
	state := cfgStateDir(t)
	o, _ := newRunning(t, baton.WithStateDir(state))
	ctx := ctxFor(t)
	// The containers wait for the ConfigMap "gate" while the test plants
	// links in their emptyDir, which exists by then.
	gated := func(name, subPath string) baton.Container {
		return baton.Container{Name: name, Image: "app",
			Env: []baton.EnvVar{{Name: "GATE", ValueFrom: &baton.EnvVarSource{ConfigMapKeyRef: &baton.ConfigMapKeySelector{
				LocalObjectReference: cfgRef("gate"), Key: "open"}}}},
			VolumeMounts: []baton.VolumeMount{{Name: "scratch", MountPath: "/x", SubPath: subPath}}}
	}
	p := podOf("p", "", gated("abs", "abs/shadow"), gated("rel", "rel"), gated("fine", "sub/dir"))
	p.Spec.Volumes = []baton.Volume{cfgVolume("scratch", baton.VolumeSource{EmptyDir: &baton.EmptyDirVolumeSource{}})}
	if _, err := o.Pods("default").Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	pod := cfgWaitConfigError(t, o, "p", "abs", `configmap "gate" not found`)
	scratch := filepath.Join(state, "pods", pod.UID, "volumes", "scratch")
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "shadow"), []byte("host secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(scratch, "abs")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../..", filepath.Join(scratch, "rel")); err != nil {
		t.Fatal(err)
	}
	if _, err := o.ConfigMaps("default").Create(ctx, &baton.ConfigMap{ObjectMeta: baton.ObjectMeta{Name: "gate"},
		Data: map[string]string{"open": "yes"}}); err != nil {
		t.Fatal(err)
	}
	cfgWaitConfigError(t, o, "p", "abs", `subPath "abs/shadow": it leaves the volume`)
	cfgWaitConfigError(t, o, "p", "rel", `subPath "rel": it leaves the volume`)
	waitPods(t, o, "default", "the container with a subPath inside its volume running", func(pods []*baton.Pod) bool {
		for _, cs := range pods[0].Status.ContainerStatuses {
			if cs.Name == "fine" && cs.State.Running != nil {
				return true
			}
		}
		return false
	})
}

// A Pod's directory goes when the Pod does, tmpfs mounts and all, whether
// the state dir is on a disk or is itself a tmpfs (where every directory
// is on tmpfs but only Baton's own mounts are mount points).
func TestPodDirRemovedWithThePod(t *testing.T) {
	needRoot(t)
	for _, onTmpfs := range []bool{false, true} {
		name := "disk"
		if onTmpfs {
			name = "tmpfs"
		}
		t.Run(name, func(t *testing.T) {
			state := cfgStateDir(t)
			if onTmpfs {
				if err := syscall.Mount("tmpfs", state, "tmpfs", 0, "mode=0755,size=16m"); err != nil {
					t.Fatalf("mount a tmpfs for the state dir: %v", err)
				}
			}
			o, rt := newRunning(t, baton.WithStateDir(state))
			ctx := ctxFor(t)
			if _, err := o.ConfigMaps("default").Create(ctx, &baton.ConfigMap{ObjectMeta: baton.ObjectMeta{Name: "app"},
				Data: map[string]string{"level": "debug"}}); err != nil {
				t.Fatal(err)
			}
			if _, err := o.Secrets("default").Create(ctx, &baton.Secret{ObjectMeta: baton.ObjectMeta{Name: "db"},
				StringData: map[string]string{"password": "s3cret"}}); err != nil {
				t.Fatal(err)
			}
			p := podOf("p", "", baton.Container{Name: "app", Image: "app", VolumeMounts: []baton.VolumeMount{
				{Name: "config", MountPath: "/etc/app"},
				{Name: "secret", MountPath: "/run/secrets"},
				{Name: "mem", MountPath: "/cache"},
				{Name: "disk", MountPath: "/scratch"},
			}})
			p.Spec.Volumes = []baton.Volume{
				cfgVolume("config", baton.VolumeSource{ConfigMap: &baton.ConfigMapVolumeSource{LocalObjectReference: cfgRef("app")}}),
				cfgVolume("secret", baton.VolumeSource{Secret: &baton.SecretVolumeSource{SecretName: "db"}}),
				cfgVolume("mem", baton.VolumeSource{EmptyDir: &baton.EmptyDirVolumeSource{Medium: baton.StorageMediumMemory}}),
				cfgVolume("disk", baton.VolumeSource{EmptyDir: &baton.EmptyDirVolumeSource{}}),
			}
			if _, err := o.Pods("default").Create(ctx, p); err != nil {
				t.Fatal(err)
			}
			pod, _, files := cfgStarted(t, o, rt, "p", "app")
			if string(files["/run/secrets/password"].Data) != "s3cret" {
				t.Fatalf("the container sees %v", keys(files))
			}
			podDir := filepath.Join(state, "pods", pod.UID)
			if _, err := os.Stat(podDir); err != nil {
				t.Fatal(err)
			}
			if err := o.Pods("default").Delete(ctx, "p"); err != nil {
				t.Fatal(err)
			}
			waitPods(t, o, "default", "the pod gone", func(pods []*baton.Pod) bool { return len(pods) == 0 })
			poll(t, "the pod's directory removed", func() bool {
				_, err := os.Stat(podDir)
				return errors.Is(err, fs.ErrNotExist)
			})
			if left := cfgMountsUnder(t, podDir); len(left) != 0 {
				t.Errorf("still mounted: %v", left)
			}
		})
	}
}
