package kafkaout

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The cached partitioner picks exactly the partitions of franz-go's murmur2 key
// partitioner, for a key slice shared by consecutive records, for equal keys in other
// slices, and when the partition count changes.
func TestKeyPartitionerMatchesMurmur2(t *testing.T) {
	ref := kgo.StickyKeyPartitioner(nil).ForTopic("t")
	got := keyPartitioner{kgo.StickyKeyPartitioner(nil)}.ForTopic("t")
	shared := []byte("host-a:/var/log/a.log")
	cases := []struct {
		key []byte
		n   int
	}{
		{shared, 3}, {shared, 3}, {[]byte("host-a:/var/log/a.log"), 3}, {shared, 7},
		{[]byte("host-b:/var/log/b.log"), 7}, {shared, 7}, {shared, 3},
	}
	for i := range 200 {
		cases = append(cases, struct {
			key []byte
			n   int
		}{[]byte(fmt.Sprintf("host:/var/log/%d.log", i)), 1 + i%13})
	}
	for i, c := range cases {
		want := ref.Partition(&kgo.Record{Key: c.key}, c.n)
		if p := got.Partition(&kgo.Record{Key: c.key}, c.n); p != want {
			t.Fatalf("case %d (%q, n=%d): partition %d, want %d", i, c.key, c.n, p, want)
		}
	}
}
