//go:build unix

package lab

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// A template is a message with {placeholders} (see fill) and the source location that
// would log it. Severity: 'I', 'W' or 'E'.
type template struct {
	sev  byte
	src  string
	text string
}

// genesis, acropolis: Python services (file.py:line).
var genesisTemplates = []template{
	{'I', "node_manager.py:1234", "Starting service manager cycle {n}"},
	{'I', "node_manager.py:1986", "Checking for running services on {self}"},
	{'I', "node_manager.py:2210", "All services on {self} are up: {svc} pids {pid} {pid} {pid}"},
	{'I', "cluster_manager.py:912", "Zookeeper ensemble: {ensemble}"},
	{'I', "cluster_manager.py:1477", "Node {self} is part of cluster with {cvms} nodes"},
	{'I', "service_utils.py:604", "Service {svc} is already running with pids [{pid}, {pid}]"},
	{'I', "service_utils.py:711", "Refreshing service states for {svc}"},
	{'I', "ha_service.py:322", "HA route check: {ip} healthy, latency {ms} ms"},
	{'I', "ipv4config.py:298", "Discovered IPs on eth0: {self}/24"},
	{'I', "zookeeper_service.py:501", "Zookeeper session established, session id 0x{hex}"},
	{'I', "node_manager.py:4321", "Node {self} genesis heartbeat sent to {ip}"},
	{'I', "upgrade_helper.py:188", "No pending upgrade on {self}"},
	{'I', "hyperint_service.py:142", "Hypervisor connection to {hv} is healthy"},
	{'I', "disk_manager.py:877", "Disk /dev/sd{letter} (serial S{hex}) mounted at /home/nutanix/data/stargate-storage/disks/S{hex}"},
	{'I', "cluster_manager.py:2044", "Received RPC GetClusterState from {ip}"},
	{'I', "firewall.py:301", "Firewall rules already up to date ({n} rules)"},
	{'W', "node_manager.py:2755", "Service {svc} took {ms} ms to respond to health check"},
	{'W', "ha_service.py:401", "Stargate on {ip} did not answer in {ms} ms, retrying"},
	{'W', "zookeeper_service.py:640", "Zookeeper connection to {ip}:9876 lost, reconnecting"},
	{'E', "service_utils.py:955", "Failed to read pid file for {svc}: [Errno 2] No such file or directory"},
}

var acropolisTemplates = []template{
	{'I', "scheduler.py:301", "Updating host {hv} resources: {n} MB free memory, {pct}% CPU"},
	{'I', "vm_manager.py:1120", "VmPowerOn vm {uuid}: task {uuid} started on host {hv}"},
	{'I', "vm_manager.py:1187", "VmPowerOn vm {uuid} completed in {ms} ms"},
	{'I', "vm_manager.py:1544", "VmMigrate vm {uuid} from {hv} to {hv} completed"},
	{'I', "master.py:412", "Acropolis master is {ip}"},
	{'I', "host_manager.py:733", "Host {hv} connected, libvirt version 8.0.0"},
	{'I', "network_manager.py:259", "Network br0.{n} vlan {disk} reconciled on {hv}"},
	{'I', "task_manager.py:188", "Task {uuid} (VmSetPowerState) completed successfully"},
	{'I', "image_manager.py:654", "Image {uuid} replicated to container default-container-{n}"},
	{'I', "ha_manager.py:95", "HA state: enabled, reserved hosts 0, {cvms} hosts healthy"},
	{'W', "scheduler.py:877", "Host {hv} memory usage above {pct}%, skipping for placement"},
	{'W', "vm_manager.py:2020", "Guest shutdown of vm {uuid} timed out after {ms} ms, powering off"},
	{'E', "task_manager.py:240", "Task {uuid} failed: kNoHostResources: no host can fit vm {uuid}"},
}

// stargate, cerebro, curator: C++ services logging with glog (file.cc:line).
var stargateTemplates = []template{
	{'I', "vdisk_controller.cc:1823", "vdisk_id={vdisk} operation_id={op} Opening vdisk NFS:{vdisk} in container {n}"},
	{'I', "vdisk_micro_egroup_writer_op.cc:1025", "vdisk_id={vdisk} operation_id={op} Wrote {bytes} bytes to egroup {egroup}"},
	{'I', "extent_store.cc:2147", "disk_id={disk} Egroup {egroup} checkpointed, {n} slices"},
	{'I', "oplog_store.cc:633", "vdisk_id={vdisk} Oplog drained {bytes} bytes, episode {n}"},
	{'I', "admctl_read_op.cc:412", "operation_id={op} Read of vdisk {vdisk} offset {bytes} len 65536 done in {ms} ms"},
	{'I', "stargate.cc:3056", "Health check: {cvms} stargates alive, my handle {self}:2009"},
	{'I', "nfs_adapter.cc:1421", "NFS client {ip} mounted container default-container-{n}"},
	{'I', "cluster_state.cc:988", "Stargate {ip}:2009 is alive with incarnation id {op}"},
	{'I', "vdisk_controller.cc:6120", "vdisk_id={vdisk} Hosting vdisk at {self}:2009"},
	{'I', "medusa_cache.cc:523", "Medusa cache hit ratio {pct}% over last {n} lookups"},
	{'I', "extent_group_migration_op.cc:301", "operation_id={op} Migrating egroup {egroup} from disk {disk} to disk {disk}"},
	{'I', "iscsi_server.cc:845", "iSCSI login from {ip} for target iqn.2010-06.com.nutanix:vg-{uuid}"},
	{'W', "vdisk_controller.cc:7012", "vdisk_id={vdisk} operation_id={op} Op took {ms} ms, longer than threshold 500 ms"},
	{'W', "extent_store.cc:3311", "disk_id={disk} Slow write to disk {disk}: {ms} ms"},
	{'W', "rpc_client.cc:512", "RPC to {ip}:2009 timed out after {ms} ms, retry {disk}"},
	{'E', "extent_group_write_op.cc:901", "operation_id={op} Egroup {egroup} write failed with error kRetry on replica {ip}"},
	{'E', "nfs_adapter.cc:2266", "NFS request from {ip} failed: kStale handle for inode {op}"},
}

var cerebroTemplates = []template{
	{'I', "cerebro_master.cc:1102", "Protection domain pd-{n} snapshot {op} created in {ms} ms"},
	{'I', "replicate_meta_op.cc:455", "operation_id={op} Replicating snapshot {op} to remote site dr-site-{disk}"},
	{'I', "replicate_meta_op.cc:812", "operation_id={op} Replicated {bytes} bytes to dr-site-{disk}"},
	{'I', "cerebro_slave.cc:340", "Cerebro master is {ip}:2020"},
	{'I', "snapshot_schedule.cc:218", "Next snapshot of pd-{n} scheduled in {n} s"},
	{'I', "garbage_collector.cc:97", "Expired {n} snapshots of pd-{n}"},
	{'I', "cerebro_master.cc:2230", "Consistency group cg-{n} has {n} entities"},
	{'W', "remote_site_connection.cc:611", "Remote site dr-site-{disk} unreachable for {ms} ms"},
	{'W', "replicate_meta_op.cc:1330", "operation_id={op} Replication bandwidth throttled to {bytes} bytes/s"},
	{'E', "cerebro_master.cc:3017", "operation_id={op} Snapshot of pd-{n} failed: kTimeout from stargate {ip}:2009"},
}

var curatorTemplates = []template{
	{'I', "curator_scan_manager.cc:1421", "Starting partial scan, execution id {op}"},
	{'I', "curator_scan_manager.cc:1688", "Partial scan {op} finished in {ms} ms"},
	{'I', "curator_mapreduce.cc:702", "MapReduce job {op}.{disk} map phase done: {n} tasks on {cvms} nodes"},
	{'I', "curator_task.cc:319", "Task {op}: {n} egroups to migrate, {n} to compress"},
	{'I', "curator_master.cc:255", "Curator master is {ip}:2010"},
	{'I', "ilm_task.cc:877", "ILM moved {bytes} bytes from SSD to HDD tier"},
	{'I', "garbage_report.cc:144", "Garbage in container default-container-{n}: {bytes} bytes reclaimable"},
	{'I', "curator_slave.cc:486", "Slave {self}:2010 executing {n} background tasks"},
	{'W', "curator_task.cc:1022", "Task {op} throttled: cluster busy ({pct}% CPU)"},
	{'E', "curator_mapreduce.cc:1410", "MapReduce job {op} failed on {ip}: kCanceled"},
}

// stargate.out: what the process writes outside glog (starts, gflags, rare notices).
var stargateOutTemplates = []template{
	{'I', "stargate_main.cc:201", "Stargate starting, version el8.5-release-fraser-6.8-stable-{hex}"},
	{'I', "stargate.cc:912", "Setting gflag stargate_max_oplog_size_MB to {n}"},
	{'I', "stargate.cc:1420", "Listening on {self}:2009 and {self}:2049"},
	{'I', "stargate.cc:2048", "Using {cvms} stargates for replication, RF2"},
	{'W', "stargate.cc:3301", "Memory usage {pct}% of the allotted limit"},
}

var zookeeperTemplates = []template{
	{'I', "NIOServerCnxnFactory@197", "Accepted socket connection from /{ip}:{port}"},
	{'I', "ZooKeeperServer@839", "Client attempting to renew session 0x{hex} at /{ip}:{port}"},
	{'I', "ZooKeeperServer@595", "Established session 0x{hex} with negotiated timeout 20000 for client /{ip}:{port}"},
	{'I', "NIOServerCnxn@1007", "Closed socket connection for client /{ip}:{port} which had sessionid 0x{hex}"},
	{'I', "PrepRequestProcessor@645", "Got user-level KeeperException when processing sessionid:0x{hex} type:create zxid:0x{hex} txntype:-1 reqpath:n/a Error Path:/appliance/logical/leaders/{svc} Error:KeeperErrorCode = NodeExists"},
	{'I', "FileTxnSnapLog@240", "Snapshotting: 0x{hex} to /home/nutanix/data/zookeeper/version-2/snapshot.{hex}"},
	{'I', "Leader@421", "Have quorum of supporters, sids: [ 1,2,3 ]; starting up and setting last processed zxid: 0x{hex}"},
	{'W', "NIOServerCnxn@357", "caught end of stream exception: Unable to read additional data from client sessionid 0x{hex}, likely client has closed socket"},
	{'W', "Follower@118", "Got zxid 0x{hex} expected 0x1"},
}

var prismTemplates = []template{
	{'I', "prism.aop.RequestInterceptor.invoke:221", "GET /PrismGateway/services/rest/v2.0/vms/ from {ip} completed in {ms} ms"},
	{'I', "prism.aop.RequestInterceptor.invoke:221", "GET /api/nutanix/v3/hosts/{uuid} from {ip} completed in {ms} ms"},
	{'I', "prism.aop.RequestInterceptor.invoke:221", "POST /api/nutanix/v3/vms/list from {ip} completed in {ms} ms"},
	{'I', "prism.auth.LocalAuthenticationProvider.authenticate:112", "User admin authenticated from {ip}"},
	{'I', "prism.statscollector.StatsCollector.collect:388", "Collected {n} stats for {cvms} hosts in {ms} ms"},
	{'I', "prism.tasks.TaskPoller.poll:154", "Task {uuid} is in state SUCCEEDED"},
	{'I', "prism.zookeeper.ZkLeaderHelper.onLeaderChange:77", "Prism leader is {ip}"},
	{'W', "prism.aop.RequestInterceptor.invoke:238", "Throwing exception from VMAdministration.getVMs: request from {ip} timed out after {ms} ms"},
	{'E', "prism.rest.ExceptionMapper.toResponse:64", "Unexpected error for GET /api/nutanix/v3/clusters/{uuid}: 500 Internal Server Error"},
}

var serviceNames = []string{"stargate", "cerebro", "curator", "acropolis", "zookeeper", "prism", "pithos",
	"cassandra", "ergon", "uhura", "hades", "alert_manager", "chronos", "arithmos", "insights_server"}

// msgEnv is what placeholders draw from.
type msgEnv struct {
	self       string   // this CVM's address
	peers      []string // every lab CVM's address, this one included
	hypervisor []string // the hosts' (invented, never contacted) addresses
	cvms       int      // CVMs in the cluster
}

// fill expands {name} placeholders with plausible values.
func fill(r *rand.Rand, env *msgEnv, text string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(text, '{')
		if i < 0 {
			b.WriteString(text)
			return b.String()
		}
		j := strings.IndexByte(text[i:], '}')
		if j < 0 {
			b.WriteString(text)
			return b.String()
		}
		b.WriteString(text[:i])
		b.WriteString(placeholder(r, env, text[i+1:i+j]))
		text = text[i+j+1:]
	}
}

func placeholder(r *rand.Rand, env *msgEnv, name string) string {
	switch name {
	case "self":
		return env.self
	case "ip":
		return env.peers[r.IntN(len(env.peers))]
	case "hv":
		return env.hypervisor[r.IntN(len(env.hypervisor))]
	case "ensemble":
		// Zookeeper runs on three CVMs (or one in a smaller cluster).
		n := min(3, len(env.peers))
		zk := make([]string, n)
		for i := range zk {
			zk[i] = env.peers[i] + ":9876"
		}
		return strings.Join(zk, ", ")
	case "cvms":
		return fmt.Sprint(env.cvms)
	case "n":
		return fmt.Sprint(1 + r.IntN(500))
	case "pid":
		return fmt.Sprint(2000 + r.IntN(30000))
	case "port":
		return fmt.Sprint(32768 + r.IntN(28000))
	case "ms":
		return fmt.Sprint(1 + r.IntN(2500))
	case "pct":
		return fmt.Sprint(40 + r.IntN(55))
	case "bytes":
		return fmt.Sprint(4096 * (1 + r.IntN(4096)))
	case "vdisk":
		return fmt.Sprint(100000 + r.IntN(900000))
	case "op":
		return fmt.Sprint(10000000 + r.IntN(90000000))
	case "egroup":
		return fmt.Sprint(1000000 + r.IntN(9000000))
	case "disk":
		return fmt.Sprint(1 + r.IntN(40))
	case "hex":
		return fmt.Sprintf("%x", r.Uint64()&0xffffffffff)
	case "letter":
		return string(rune('a' + r.IntN(6)))
	case "uuid":
		return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", r.Uint32(), r.IntN(1<<16), r.IntN(1<<12), r.IntN(1<<12), r.Uint64()&0xffffffffffff)
	case "svc":
		return serviceNames[r.IntN(len(serviceNames))]
	}
	return "{" + name + "}"
}

// pick chooses a template: mostly informational, warnings now and then, errors rarely.
func pick(r *rand.Rand, ts []template) template {
	want := byte('I')
	switch x := r.IntN(100); {
	case x < 2:
		want = 'E'
	case x < 8:
		want = 'W'
	}
	for range 4 {
		t := ts[r.IntN(len(ts))]
		if t.sev == want {
			return t
		}
	}
	return ts[r.IntN(len(ts))]
}
