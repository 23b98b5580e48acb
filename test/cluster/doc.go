// Package cluster holds failover tests (build tag integration) of the real logcollect
// binary against a 3-node Kafka and a 3-member etcd on 127.0.0.1, started once per test
// run by scripts/cluster.sh and stopped at its end: a partition leader's broker killed
// under load, the etcd leader killed while entries change, one etcd member partitioned
// away from the agent.
package cluster
