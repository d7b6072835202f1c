package prism

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The CVM states list-cvms shows: a closed set, the same for every API family. The
// mapping from each family's fields is the table in docs/prism-states.md; cvmState is
// that table in code.
const (
	StateNormal           = "normal"            // nothing Prism reports is out of the ordinary
	StateMaintenance      = "maintenance"       // the CVM is in maintenance mode
	StateHostMaintenance  = "host-maintenance"  // its host is entering or in maintenance
	StateHAFailover       = "ha-failover"       // its host is the source or target of an HA failover
	StateHAHealing        = "ha-healing"        // its host is the source or target of HA healing
	StateHAReserved       = "ha-reserved"       // its host is (being) reserved for HA failover
	StateHostDisconnected = "host-disconnected" // Acropolis has lost its hypervisor
	StateBeingRemoved     = "being-removed"     // its node is being removed from the cluster
	StateNew              = "new"               // its node is new to the cluster
	StatePreprotected     = "preprotected"      // its node is (to be) pre-protected
	StateUnknown          = "unknown"           // Prism gives no state, or one this version does not know
)

// States is every value State takes, in the order cvmState tries them (the first that
// applies wins), as docs/prism-states.md and list-cvms --help list them.
var States = []string{StateBeingRemoved, StateMaintenance, StateHostMaintenance, StateHAFailover, StateHAHealing,
	StateHAReserved, StateHostDisconnected, StateNew, StatePreprotected, StateUnknown, StateNormal}

// hostTypeComputeOnly is a host without a CVM, as v2 host_type, v3
// status.resources.host_type and v4 hostType spell it (the others: HYPER_CONVERGED,
// STORAGE_ONLY).
const hostTypeComputeOnly = "COMPUTE_ONLY"

// rawHost is a host as one API family described it, before anything of it is checked.
type rawHost struct {
	key         string // the host's UUID, to de-duplicate pages
	clusterUUID string
	name        string
	hostType    string

	cvmAddress        string
	cvmName           string // the CVM's own name (v4.3 clusters/{id}/cvms), when known
	natAddress        string
	natPort           int
	hypervisorAddress string

	// reportsState is false for v3, whose hosts carry no state at all.
	reportsState     bool
	nodeStatus       string
	hypervisorState  string
	connectionState  string
	maintenanceState string
	cvmMaintenance   bool
	hostMaintenance  bool
}

// maxRaw bounds every string kept from Prism: real values are short, and a hostile one
// must not bloat a table, the cache or a message.
const maxRaw = 256

func bounded(s string) string {
	if len(s) <= maxRaw {
		return s
	}
	s = s[:maxRaw]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// hostOutcome is what becomes of a host: a CVM, a compute-only host, or a skipped one.
type hostOutcome struct {
	cvm         CVM
	ok          bool // cvm is to be listed
	computeOnly bool
	notices     []Notice
}

// check turns a host of cluster cl into a CVM, checking every address Prism gave.
func (h rawHost) check(cl Cluster) hostOutcome {
	var out hostOutcome
	where := fmt.Sprintf("cluster %s: host %s", show(bounded(cl.Name)), show(bounded(h.name)))
	if strings.EqualFold(h.hostType, hostTypeComputeOnly) {
		out.computeOnly = true
		return out
	}
	switch {
	case h.cvmAddress == "":
		kind := "host"
		if h.hostType != "" {
			kind = show(bounded(h.hostType)) + " host"
		}
		out.notices = append(out.notices, Notice{Message: fmt.Sprintf("%s: %s without a CVM address in Prism: skipped", where, kind)})
		return out
	case !validAddress(h.cvmAddress):
		out.notices = append(out.notices, Notice{Message: fmt.Sprintf("%s: CVM address %s is not an IP address or host name: skipped",
			where, strconv.Quote(bounded(h.cvmAddress)))})
		return out
	}
	cvm := CVM{
		Address:          h.cvmAddress,
		Cluster:          bounded(cl.Name),
		ClusterUUID:      bounded(cl.UUID),
		Host:             bounded(h.name),
		HostType:         bounded(h.hostType),
		InMaintenance:    h.cvmMaintenance,
		NodeStatus:       bounded(h.nodeStatus),
		HypervisorState:  bounded(h.hypervisorState),
		ConnectionState:  bounded(h.connectionState),
		MaintenanceState: bounded(h.maintenanceState),
	}
	cvm.HostInMaintenance = hostInMaintenance(h)
	if a := h.hypervisorAddress; a != "" {
		if validAddress(a) {
			cvm.HypervisorAddress = a
		} else {
			out.notices = append(out.notices, Notice{Message: fmt.Sprintf("%s: hypervisor address %s is not an IP address or host name: not shown",
				where, strconv.Quote(bounded(a)))})
		}
	}
	if a := h.natAddress; a != "" {
		switch {
		case !validAddress(a):
			out.notices = append(out.notices, Notice{Message: fmt.Sprintf("%s: NAT address %s is not an IP address or host name: not used",
				where, strconv.Quote(bounded(a)))})
		case h.natPort < 0 || h.natPort > 65535:
			out.notices = append(out.notices, Notice{Message: fmt.Sprintf("%s: NAT port %d is not a port: NAT not used", where, h.natPort)})
		default:
			cvm.NATAddress, cvm.NATPort = a, h.natPort
		}
	}
	switch {
	case h.cvmName != "":
		cvm.RawName, cvm.NameSource = bounded(h.cvmName), "prism"
	case h.name != "":
		cvm.RawName, cvm.NameSource = bounded(h.name)+"-CVM", "host"
	default:
		cvm.RawName, cvm.NameSource = h.cvmAddress, "address"
	}
	cvm.Name = cvm.RawName
	cvm.State = cvmState(h)
	out.cvm, out.ok = cvm, true
	return out
}

// enumKey folds the spellings of one enum value together: v4's ENTERED_MAINTENANCE_MODE,
// v2's kEnteredMaintenanceMode and the SDK's ENTERED-MAINTENANCE-MODE all become
// "enteredmaintenancemode".
func enumKey(s string) string {
	if len(s) > 1 && s[0] == 'k' && s[1] >= 'A' && s[1] <= 'Z' {
		s = s[1:]
	}
	s = strings.NewReplacer("_", "", "-", "", " ", "").Replace(s)
	return strings.ToLower(s)
}

// hostMaintenanceState is v4's maintenanceState saying anything but "normal": the SDK calls
// it the host's maintenance state and documents no values ("normal" is the one recorded).
func hostMaintenanceState(h rawHost) bool {
	ms := enumKey(h.maintenanceState)
	return ms != "" && ms != "normal"
}

// hostInMaintenance tells whether anything says the host is entering or in maintenance.
func hostInMaintenance(h rawHost) bool {
	switch enumKey(h.hypervisorState) {
	case "enteringmaintenancemode", "enteredmaintenancemode", "enteringmaintenancemodefromhafailover":
		return true
	}
	return h.hostMaintenance || hostMaintenanceState(h)
}

// cvmState is the table of docs/prism-states.md, first row that applies first: what keeps
// the CVM from serving comes before what only concerns its host.
func cvmState(h rawHost) string {
	if !h.reportsState {
		return StateUnknown
	}
	node, hv, conn := enumKey(h.nodeStatus), enumKey(h.hypervisorState), enumKey(h.connectionState)
	switch node {
	case "toberemoved", "oktoberemoved", // v4 nodeStatus
		"markedforremovalbutnotdetachable", "detachable": // v2 state
		return StateBeingRemoved
	}
	if h.cvmMaintenance {
		return StateMaintenance
	}
	if hostInMaintenance(h) {
		return StateHostMaintenance
	}
	switch hv {
	case "hafailoversource", "hafailovertarget":
		return StateHAFailover
	case "hahealingsource", "hahealingtarget":
		return StateHAHealing
	case "reservedforhafailover", "reservingforhafailover":
		return StateHAReserved
	}
	if conn == "disconnected" {
		return StateHostDisconnected
	}
	switch node {
	case "newnode", "new":
		return StateNew
	case "tobepreprotected", "preprotected":
		return StatePreprotected
	}
	// Anything not known to be normal ($UNKNOWN, $REDACTED, a value newer than this
	// version) is never shown as normal.
	if (node != "" && node != "normal") || (hv != "" && hv != "acropolisnormal") ||
		(conn != "" && conn != "connected") {
		return StateUnknown
	}
	return StateNormal
}
