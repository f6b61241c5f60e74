package containerd

import (
	"context"
	"time"

	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/containerd/v2/pkg/namespaces"
)

// leaseLife is how long a creation lease lives in containerd; the Runtime
// makes a new one once the current one has lived half of it, so a lease
// outlives every creation made under it by at least that half.
const leaseLife = time.Hour

// withLease returns ctx under the Runtime's creation lease, making one if
// there is none or the current one is old.
//
// containerd's client leases each NewContainer: it creates a lease, so
// that the new snapshot is not garbage collected before the container
// record refers to it, and deletes it after, two more writes to
// containerd's metadata store on the path of every container start. The
// Runtime instead keeps one lease for all its creations and lets
// containerd expire it. What it holds is held by the containers too, and
// the Runtime removes a container's snapshot with the container, so the
// lease keeps nothing alive for long: a snapshot left by a creation that
// failed halfway is collected once the lease expires.
func (r *Runtime) withLease(ctx context.Context) (context.Context, error) {
	r.leaseMu.Lock()
	defer r.leaseMu.Unlock()
	if r.lease.ID == "" || time.Since(r.leaseMade) > leaseLife/2 {
		l, err := r.client.LeasesService().Create(ctx, leases.WithRandomID(), leases.WithExpiration(leaseLife))
		if err != nil {
			return nil, wrapErr(err, "create a lease")
		}
		r.lease, r.leaseMade = l, time.Now()
	}
	return leases.WithLease(ctx, r.lease.ID), nil
}

// forgetLease makes the next creation make a new lease if id is still the
// current one: a creation under it failed, and the lease may be gone.
func (r *Runtime) forgetLease(id string) {
	r.leaseMu.Lock()
	defer r.leaseMu.Unlock()
	if r.lease.ID == id {
		r.lease = leases.Lease{}
	}
}

// dropLease deletes the creation lease, if any, on Close: containerd would
// expire it anyway.
func (r *Runtime) dropLease() {
	r.leaseMu.Lock()
	defer r.leaseMu.Unlock()
	if r.lease.ID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(namespaces.WithNamespace(context.Background(), r.opts.namespace), 2*time.Second)
	defer cancel()
	_ = r.client.LeasesService().Delete(ctx, r.lease)
	r.lease = leases.Lease{}
}
