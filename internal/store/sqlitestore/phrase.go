package sqlitestore

import (
	"database/sql/driver"
	"fmt"
	"sync"

	"modernc.org/sqlite"

	"github.com/logcollect/logcollect/internal/search"
)

// registerPhrase registers the SQL function lc_phrase(msg, phrase, prefix) once per
// process: the driver's function table is process-wide, and a second registration of a
// name is an error.
var registerPhrase = sync.OnceValue(func() error {
	return sqlite.RegisterDeterministicScalarFunction("lc_phrase", 3, lcPhrase)
})

// lcPhrase is search.HasPhrase for SQL: 1 when the message holds the phrase.
func lcPhrase(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	msg, ok := textArg(args[0])
	if !ok {
		return int64(0), nil
	}
	phrase, ok := textArg(args[1])
	if !ok {
		return nil, fmt.Errorf("lc_phrase: the phrase must be text, got %T", args[1])
	}
	prefix, _ := args[2].(int64)
	if search.HasPhrase(msg, phrase, prefix != 0) {
		return int64(1), nil
	}
	return int64(0), nil
}

func textArg(v driver.Value) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case []byte:
		return string(x), true
	}
	return "", false
}
