//go:build !agentonly

package main

const (
	program = "logcollect"
	about   = "logcollect ships log lines from files to Kafka and on to OpenSearch."
)

// clusterCommands are the commands of the cluster's side and of one machine: the transfer,
// the control tool, the standalone and the server. logcollect-agent leaves them out.
func clusterCommands() []command {
	return []command{
		{"transfer", "consume Kafka topics and index the lines into OpenSearch", runTransfer},
		{"ctl", "manage collect entries in etcd and list live agents", runCtl},
		{"standalone", "the whole system in one process, no external service", runStandalone},
		{"server", "the standalone's API and web UI over a cluster (OpenSearch, InfluxDB/Prometheus, etcd)", runServer},
	}
}
