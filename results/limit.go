package results

// Limit names what set a case's req/s: the resource that ran out first,
// as the CPU figures measured during the case tell it. Only LimitServer
// and LimitMaster describe the model under test; the others describe the
// machine, the generator or the load, and a reader must not take them
// for the model's capacity.
type Limit string

// The limits, in the order assess.LimitOf tries them.
const (
	// LimitFailures: more than assess.FailedFlag of the requests failed, so
	// req/s (successes only) is not a capacity at all.
	LimitFailures Limit = "failures"
	// LimitGenerator: the load generator saturated (Summary.Saturated:
	// its CPUs busy, or an open loop it could not keep on schedule).
	LimitGenerator Limit = "generator"
	// LimitRate: an open loop the server kept up with: the offered rate,
	// not the server, set req/s.
	LimitRate Limit = "open_rate"
	// LimitMaster: a prefork master near one core of CPU while its
	// workers had headroom: the master (which accepts and passes every
	// connection under rr and sticky) is the bottleneck.
	LimitMaster Limit = "prefork_master"
	// LimitServer: the server's processes used nearly all the cores they
	// were allotted: the model's own capacity on those cores.
	LimitServer Limit = "server_cores"
	// LimitShared: servers and generator share CPUs, and the server's
	// CPUs were busy with both: the CPUs ran out, not the model.
	LimitShared Limit = "shared_cores"
	// LimitWait: /io, whose requests wait (sleep) by design: the wait
	// times the connections set req/s, not a CPU.
	LimitWait Limit = "request_wait"
	// LimitConnections: a closed loop where neither the server nor the
	// generator was near its CPU and latency was low: the connections
	// could not offer more load; more of them would have got more.
	LimitConnections Limit = "connections"
	// LimitUnknown: no measured resource was near its limit, yet latency
	// was high: something the harness does not measure (a lock, the
	// kernel, the network) set the pace.
	LimitUnknown Limit = "unknown"
)
