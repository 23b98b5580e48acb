package sqlitestore

import (
	"context"
	"database/sql/driver"
	"fmt"

	"modernc.org/sqlite"
)

// mayHoldFunc is the SQL function that a query of blocks calls with a block's pairs row
// (NULL: none) and the plan's numbers (plan.nums): 0 when the row, of layout 11, rules
// the block out (numbersMayHold). numberMayHoldFunc is called with a block's set of one
// shard of numbers and a number's hash (gcsMayHold), pendingMayHoldFunc with a block's
// row of numbers_pending and the plan's numbers (pendingMayHold), pairsMayHoldFunc with
// a block's pairs row and the plan's pairs (filterMayHold). They are SQL so that a block
// ruled out is never read (numbersSQL, plan.blocksSQL): a search for a long number has
// no index words to narrow it by, and an IP address's four numbers are words of nearly
// every block of an access log.
const (
	mayHoldFunc        = "logcollect_may_hold"
	numberMayHoldFunc  = "logcollect_number_may_hold"
	pendingMayHoldFunc = "logcollect_pending_may_hold"
	pairsMayHoldFunc   = "logcollect_pairs_may_hold"
)

// newConnector returns the connector of a day's database file dsn: a SQLite driver of
// its own that has the store's SQL functions (a driver made here, not the one
// registered as "sqlite" for the process, whose functions are package state).
//
// The functions are given their blob arguments as views of SQLite's memory
// (VolatileArgs), which none of them keeps past its call: copied, they were an
// allocation per row tested, ~39 MB and a tenth of the CPU of a digit prefix's page at
// 100 million lines (docs/store.md, "A candidate block read for its numbers").
func newConnector(dsn string) (driver.Connector, error) {
	d := &sqlite.Driver{}
	for name, fn := range map[string]func(*sqlite.FunctionContext, []driver.Value) (driver.Value, error){
		mayHoldFunc:        mayHoldSQL,
		numberMayHoldFunc:  numberMayHoldSQL,
		pendingMayHoldFunc: pendingMayHoldSQL,
		pairsMayHoldFunc:   pairsMayHoldSQL,
	} {
		impl := &sqlite.FunctionImpl{NArgs: 2, Deterministic: true, Scalar: fn, VolatileArgs: true}
		if err := d.RegisterFunction(name, impl); err != nil {
			return nil, fmt.Errorf("register %s: %w", name, err)
		}
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
	return blobsSQL(args, numbersMayHold), nil
}

// pendingMayHoldSQL is pendingMayHoldFunc, likewise.
func pendingMayHoldSQL(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	return blobsSQL(args, pendingMayHold), nil
}

// pairsMayHoldSQL is pairsMayHoldFunc, likewise.
func pairsMayHoldSQL(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	return blobsSQL(args, filterMayHold), nil
}

// blobsSQL is the SQL value of may for two blob arguments: 1 or 0.
func blobsSQL(args []driver.Value, may func(f, want []byte) bool) driver.Value {
	f, _ := args[0].([]byte)
	want, _ := args[1].([]byte)
	if may(f, want) {
		return int64(1)
	}
	return int64(0)
}

// numberMayHoldSQL is numberMayHoldFunc: 1 or 0. Any other argument (not a blob, not an
// integer) rules nothing out.
func numberMayHoldSQL(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	f, _ := args[0].([]byte)
	h, ok := args[1].(int64)
	if !ok || gcsMayHold(f, uint64(h)) {
		return int64(1), nil
	}
	return int64(0), nil
}
