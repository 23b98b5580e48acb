//go:build agentonly

package main

const (
	program = "logcollect-agent"
	about   = "logcollect-agent ships log lines from this host's files to Kafka, and its metrics to InfluxDB.\nThe transfer, ctl, standalone and server are commands of logcollect."
)

// clusterCommands: none in logcollect-agent, whose point is to link none of their packages.
func clusterCommands() []command { return nil }
