package config

import (
	"reflect"
)

// Changed returns the dotted keys (agent.collect, http.listen, kafka.tls.enabled …) whose
// values differ between a and b, in the order of the Config struct. A reload uses it to
// tell the keys it can apply live from the ones that need a restart.
func Changed(a, b Config) []string {
	var keys []string
	changedWalk(reflect.ValueOf(a), reflect.ValueOf(b), "", &keys)
	return keys
}

func changedWalk(a, b reflect.Value, path string, keys *[]string) {
	t := a.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name := yamlName(f)
		if name == "" || !f.IsExported() {
			continue
		}
		key := join(path, name)
		fa, fb := a.Field(i), b.Field(i)
		// Sections recurse so the key named is the leaf; lists and maps are one key each.
		if fa.Kind() == reflect.Struct && !isTextUnmarshalerType(fa.Type()) {
			changedWalk(fa, fb, key, keys)
			continue
		}
		if !reflect.DeepEqual(fa.Interface(), fb.Interface()) {
			*keys = append(*keys, key)
		}
	}
}

func isTextUnmarshalerType(t reflect.Type) bool {
	return isTextUnmarshaler(reflect.New(t).Elem())
}
