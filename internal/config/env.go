package config

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// EnvPrefix starts every environment override: LOGCOLLECT_<SECTION>_<KEY>, for example
// LOGCOLLECT_KAFKA_BROKERS=a:9092,b:9092 or LOGCOLLECT_KAFKA_TLS_ENABLED=true.
const EnvPrefix = "LOGCOLLECT_"

// applyEnv overrides keys from the environment. lookup is os.LookupEnv in production and a
// map in tests, so tests never touch the process environment.
func applyEnv(cfg *Config, lookup func(string) (string, bool)) error {
	return envWalk(reflect.ValueOf(cfg).Elem(), "", lookup)
}

func envWalk(v reflect.Value, path string, lookup func(string) (string, bool)) error {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name := yamlName(f)
		if name == "" || !f.IsExported() {
			continue
		}
		key := join(path, name)
		fv := v.Field(i)
		if fv.Kind() == reflect.Struct && !isTextUnmarshaler(fv) {
			if err := envWalk(fv, key, lookup); err != nil {
				return err
			}
			continue
		}
		envName := EnvName(key)
		s, ok := lookup(envName)
		if !ok {
			continue
		}
		if err := setFromEnv(fv, s, fmt.Sprintf("%s (from %s)", key, envName)); err != nil {
			return err
		}
	}
	return nil
}

// EnvName is the environment variable that overrides a dotted key.
func EnvName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

func isTextUnmarshaler(v reflect.Value) bool {
	_, ok := v.Addr().Interface().(encoding.TextUnmarshaler)
	return ok
}

func setFromEnv(v reflect.Value, s, path string) error {
	if u, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok {
		if err := u.UnmarshalText([]byte(s)); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return nil
	}
	switch v.Kind() {
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.String {
			var items []string
			for _, item := range strings.Split(s, ",") {
				if item = strings.TrimSpace(item); item != "" {
					items = append(items, item)
				}
			}
			v.Set(reflect.ValueOf(items))
			return nil
		}
		// Lists of objects (agent.collect) are given as JSON.
		p := reflect.New(v.Type())
		if err := json.Unmarshal([]byte(s), p.Interface()); err != nil {
			return fmt.Errorf("%s: must be a JSON list: %w", path, err)
		}
		v.Set(p.Elem())
		return nil
	case reflect.Map:
		p := reflect.New(v.Type())
		if err := json.Unmarshal([]byte(s), p.Interface()); err != nil {
			return fmt.Errorf("%s: must be a JSON object: %w", path, err)
		}
		v.Set(p.Elem())
		return nil
	}
	return setScalar(v, s, "", path)
}
