package config

import (
	"bufio"
	"bytes"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/logcollect/logcollect/internal/control/entry"
)

// iniKeys lists the keys of the original course project's INI file in one section.
func iniKeys(section string) ([]string, bool) {
	switch section {
	case "kafka":
		return []string{"address", "topic", "chan_size"}, true
	case "collect":
		return []string{"logfile_path"}, true
	case "etcd":
		return []string{"address", "collect_key"}, true
	}
	return nil, false
}

// fromINI maps the original course project's INI file onto the configuration:
// [kafka] address → kafka.brokers, topic → kafka.topic (and the topic of logfile_path);
// chan_size was the size of an in-memory channel, which logcollect bounds by
// kafka.max_buffered_bytes instead, so it is accepted and ignored;
// [collect] logfile_path → one agent.collect entry (relative to the working directory, as
// the original program opened it); [etcd] address → etcd.endpoints, collect_key →
// etcd.collect_keys. Without an [etcd] section the agent uses the static entry alone.
func fromINI(data []byte, cfg *Config) error {
	sections, err := parseINI(data)
	if err != nil {
		return err
	}
	hasEtcd := false
	for name, kv := range sections {
		allowed, ok := iniKeys(name)
		if !ok {
			return fmt.Errorf("[%s]: unknown section (known: kafka, collect, etcd)", name)
		}
		for k := range kv {
			if !contains(allowed, k) {
				return fmt.Errorf("[%s] %s: unknown key (known: %s)", name, k, strings.Join(allowed, ", "))
			}
		}
		if name == "etcd" {
			hasEtcd = true
		}
	}
	k := sections["kafka"]
	if v := k["address"]; v != "" {
		cfg.Kafka.Brokers = splitList(v)
	}
	cfg.Kafka.Topic = k["topic"]
	if cfg.Kafka.Topic == "" && sections["collect"]["logfile_path"] != "" {
		return fmt.Errorf("[kafka] topic: required with [collect] logfile_path")
	}
	if p := sections["collect"]["logfile_path"]; p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			return fmt.Errorf("[collect] logfile_path: %w", err)
		}
		cfg.Agent.Collect = []entry.Entry{{Path: abs, Topic: cfg.Kafka.Topic}}
	}
	if hasEtcd {
		e := sections["etcd"]
		if v := e["address"]; v != "" {
			cfg.Etcd.Endpoints = splitList(v)
		}
		if v := e["collect_key"]; v != "" {
			cfg.Etcd.CollectKeys = splitList(v)
		}
	} else {
		cfg.Etcd.Endpoints = nil
	}
	return nil
}

func parseINI(data []byte) (map[string]map[string]string, error) {
	sections := map[string]map[string]string{}
	current := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for lineNo := 1; sc.Scan(); lineNo++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == ';' || line[0] == '#' {
			continue
		}
		if line[0] == '[' {
			if !strings.HasSuffix(line, "]") {
				return nil, fmt.Errorf("line %d: section header must end with ]", lineNo)
			}
			current = strings.ToLower(strings.TrimSpace(line[1 : len(line)-1]))
			if sections[current] == nil {
				sections[current] = map[string]string{}
			}
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: expected key = value", lineNo)
		}
		if current == "" {
			return nil, fmt.Errorf("line %d: key %q outside a [section]", lineNo, strings.TrimSpace(key))
		}
		value = strings.TrimSpace(value)
		if len(value) >= 2 && (value[0] == '"' && value[len(value)-1] == '"' || value[0] == '\'' && value[len(value)-1] == '\'') {
			value = value[1 : len(value)-1]
		}
		sections[current][strings.ToLower(strings.TrimSpace(key))] = value
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return sections, nil
}

func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
