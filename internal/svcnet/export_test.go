package svcnet

// OpenKinds is Open, making the first of kinds the kernel supports, so
// that tests can make the fallback happen.
func OpenKinds(cfg Config, kinds ...string) (*Net, error) { return openKinds(cfg, kinds) }
