package sqlitestore

import (
	"context"
	"database/sql/driver"
	"fmt"

	"modernc.org/sqlite"
)

// mayHoldFunc is the SQL function that a query of blocks calls with a block's filter
// (NULL: none) and the plan's numbers (plan.nums): 0 when the filter rules the block
// out (numbersMayHold). It is SQL so that a block ruled out is never read: its data,
// most of its row, is only read for the rows a query returns, and a search for a long
// number has no index words to narrow it by.
const mayHoldFunc = "logcollect_may_hold"

// newConnector returns the connector of a day's database file dsn: a SQLite driver of
// its own that has the store's SQL functions (a driver made here, not the one
// registered as "sqlite" for the process, whose functions are package state).
func newConnector(dsn string) (driver.Connector, error) {
	d := &sqlite.Driver{}
	if err := d.RegisterDeterministicScalarFunction(mayHoldFunc, 2, mayHoldSQL); err != nil {
		return nil, fmt.Errorf("register %s: %w", mayHoldFunc, err)
	}
	return connector{d: d, dsn: dsn}, nil
}

type connector struct {
	d   *sqlite.Driver
	dsn string
}

func (c connector) Connect(context.Context) (driver.Conn, error) { return c.d.Open(c.dsn) }
func (c connector) Driver() driver.Driver                        { return c.d }

// mayHoldSQL is mayHoldFunc: 1 or 0. Any other argument (not a blob) rules nothing out.
func mayHoldSQL(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	f, _ := args[0].([]byte)
	want, _ := args[1].([]byte)
	if numbersMayHold(f, want) {
		return int64(1), nil
	}
	return int64(0), nil
}
