// Package transfer holds end-to-end tests of the real `logcollect transfer` binary against
// the real Kafka and OpenSearch (build tag integration): the agent → Kafka → transfer →
// OpenSearch path, SIGKILL, an OpenSearch outage behind a cuttable proxy, 429s, the
// dead-letter topic, two instances in one group, topic_regex and parsing.
package transfer
