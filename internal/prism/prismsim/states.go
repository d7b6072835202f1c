package prismsim

import (
	"strings"
)

// HostState is how a host is to be reported, in every API family that has the field (v3
// has no state fields; v2 no CVM maintenance): the host's state is exactly this. The
// address, type, NAT and name fields change the host only when set.
type HostState struct {
	// CVMMaintenance is the CVM's maintenance mode: v4 controllerVm.isInMaintenanceMode.
	CVMMaintenance bool
	// HostMaintenance is the host's: v2 host_in_maintenance_mode and hypervisor_state
	// kEnteredMaintenanceMode, v4 hypervisor.state ENTERED_MAINTENANCE_MODE.
	HostMaintenance bool
	// HypervisorState is a v4 HypervisorState (e.g. "HA_FAILOVER_SOURCE"); v2 gets its
	// kCamelCase spelling (kHAFailoverSource). It wins over HostMaintenance's.
	HypervisorState string
	// Disconnected is acropolisConnectionState DISCONNECTED (v2 kDisconnected).
	Disconnected bool
	// NodeStatus is a v4 nodeStatus (e.g. "TO_BE_PREPROTECTED"); v2 gets the state of the
	// same meaning where it has one, else the same word.
	NodeStatus string
	// BeingRemoved is NodeStatus TO_BE_REMOVED.
	BeingRemoved bool
	// MaintenanceState is v4's (the host's) maintenanceState; default "normal".
	MaintenanceState string

	HostType     string // v2 host_type, v3 host_type, v4 hostType, e.g. "STORAGE_ONLY"
	NoCVMAddress bool   // the CVM address left out of every family
	CVMAddress   string // replaces the CVM address everywhere
	NATAddress   string // v2 service_vmnat_ip, v3 controller_vm.nat_ip, v4 controllerVm.natIp
	NATPort      int
	Rename       string // a new host name; the CVM keeps its own name (v4.3 /cvms)
}

// SetHostState changes how a host (by its current host name) is reported.
func (s *Sim) SetHostState(host string, st HostState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	node := st.NodeStatus
	if st.BeingRemoved {
		node = "TO_BE_REMOVED"
	}
	if node == "" {
		node = "NORMAL"
	}
	hv := st.HypervisorState
	if hv == "" {
		hv = "ACROPOLIS_NORMAL"
		if st.HostMaintenance {
			hv = "ENTERED_MAINTENANCE_MODE"
		}
	}
	conn := "CONNECTED"
	if st.Disconnected {
		conn = "DISCONNECTED"
	}
	for _, h := range s.w.v2Hosts {
		if h["name"] != host {
			continue
		}
		h["host_in_maintenance_mode"] = st.HostMaintenance
		h["hypervisor_state"] = v2Enum(hv)
		h["acropolis_connection_state"] = v2Enum(conn)
		h["state"] = map[string]string{"TO_BE_REMOVED": "MARKED_FOR_REMOVAL_BUT_NOT_DETACHABLE",
			"OK_TO_BE_REMOVED": "DETACHABLE", "NEW_NODE": "NEW"}[node]
		if h["state"] == "" {
			h["state"] = node
		}
		setIf(h, st.HostType, "host_type")
		switch {
		case st.NoCVMAddress:
			h["service_vmexternal_ip"], h["controller_vm_backplane_ip"] = nil, nil
		case st.CVMAddress != "":
			h["service_vmexternal_ip"] = st.CVMAddress
		}
		if st.NATAddress != "" {
			h["service_vmnat_ip"], h["service_vmnat_port"] = st.NATAddress, st.NATPort
		}
		setIf(h, st.Rename, "name")
	}
	for _, h := range s.w.v3Hosts {
		if str(h, "status", "name") != host {
			continue
		}
		setIf(h, st.HostType, "status", "resources", "host_type")
		for _, part := range []string{"status", "spec"} {
			vm, _ := get(h, part, "resources", "controller_vm").(obj)
			switch {
			case vm == nil:
			case st.NoCVMAddress:
				delete(vm, "ip")
			case st.CVMAddress != "":
				vm["ip"] = st.CVMAddress
			}
			if vm != nil && st.NATAddress != "" {
				vm["nat_ip"], vm["nat_port"] = st.NATAddress, st.NATPort
			}
			setIf(h, st.Rename, part, "name")
		}
	}
	for _, hosts := range s.w.v4Hosts {
		for _, h := range hosts {
			if h["hostName"] != host {
				continue
			}
			h["nodeStatus"] = node
			h["maintenanceState"] = "normal"
			setIf(h, st.MaintenanceState, "maintenanceState")
			if hyp, ok := h["hypervisor"].(obj); ok {
				hyp["state"], hyp["acropolisConnectionState"] = hv, conn
			}
			setIf(h, st.HostType, "hostType")
			if cvm, ok := h["controllerVm"].(obj); ok {
				cvm["isInMaintenanceMode"] = st.CVMMaintenance
				switch {
				case st.NoCVMAddress:
					delete(cvm, "externalAddress")
				case st.CVMAddress != "":
					set(cvm, st.CVMAddress, "externalAddress", "ipv4", "value")
				}
				if st.NATAddress != "" {
					cvm["natIp"] = ipAddress(st.NATAddress)
					cvm["natPort"] = st.NATPort
				}
			}
			setIf(h, st.Rename, "hostName")
		}
	}
}

// SetHostListed takes a host (by its current host name) out of every API family's host
// list, as when a node is removed from the cluster, or, with listed, puts it back (at the
// end of the lists), as when it is added again: a test changes the cluster while a client
// follows it.
func (s *Sim) SetHostListed(host string, listed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.w
	if listed {
		u := w.unlisted[host]
		if u == nil {
			return
		}
		delete(w.unlisted, host)
		w.v2Hosts = append(w.v2Hosts, u.v2...)
		w.v3Hosts = append(w.v3Hosts, u.v3...)
		for id, hs := range u.v4 {
			w.v4Hosts[id] = append(w.v4Hosts[id], hs...)
		}
		return
	}
	if w.unlisted == nil {
		w.unlisted = map[string]*unlistedHost{}
	}
	if w.unlisted[host] != nil {
		return
	}
	u := &unlistedHost{v4: map[string][]obj{}}
	take := func(hosts []obj, name func(obj) string, into *[]obj) []obj {
		var keep []obj
		for _, h := range hosts {
			if name(h) == host {
				*into = append(*into, h)
				continue
			}
			keep = append(keep, h)
		}
		return keep
	}
	w.v2Hosts = take(w.v2Hosts, func(h obj) string { return str(h, "name") }, &u.v2)
	w.v3Hosts = take(w.v3Hosts, func(h obj) string { return str(h, "status", "name") }, &u.v3)
	for id, hosts := range w.v4Hosts {
		var taken []obj
		w.v4Hosts[id] = take(hosts, func(h obj) string { return str(h, "hostName") }, &taken)
		if len(taken) > 0 {
			u.v4[id] = taken
		}
	}
	w.unlisted[host] = u
}

// SetClusterAvailable marks a cluster (by name) as reachable by Prism Central or not: v4
// config.isAvailable, v3 status.resources.config.is_available. Its hosts are still
// served, as the PC last knew them: a client is to leave them out.
func (s *Sim) SetClusterAvailable(name string, available bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.w.v4Clusters {
		if c["name"] == name {
			set(c, available, "config", "isAvailable")
		}
	}
	for _, c := range s.w.v3Clusters {
		if str(c, "status", "name") == name {
			set(c, available, "status", "resources", "config", "is_available")
		}
	}
}

// v2Enum is v2's spelling of a v4 enum value: ENTERING_MAINTENANCE_MODE_FROM_HA_FAILOVER
// is kEnteringMaintenanceModeFromHAFailover, CONNECTED kConnected.
func v2Enum(v4 string) string {
	var b strings.Builder
	b.WriteString("k")
	for _, w := range strings.Split(v4, "_") {
		if w == "HA" || w == "" {
			b.WriteString(w)
			continue
		}
		b.WriteString(w[:1] + strings.ToLower(w[1:]))
	}
	return b.String()
}

// ipAddress is a common.v1 IPAddress document.
func ipAddress(ip string) obj {
	return obj{"$objectType": "common.v1.config.IPAddress", "ipv4": obj{"$objectType": "common.v1.config.IPv4Address", "value": ip}}
}

func setIf(m obj, value string, path ...string) {
	if value != "" {
		set(m, value, path...)
	}
}
