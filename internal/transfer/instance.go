package transfer

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
)

// instanceIDChars are the characters Kafka accepts in a group.instance.id.
var instanceIDChars = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)

// resolveInstanceID expands {hostname} in transfer.instance_id. "" stays "": the member
// joins dynamically.
func resolveInstanceID(tmpl string, hostname func() (string, error)) (string, error) {
	if tmpl == "" {
		return "", nil
	}
	id := tmpl
	if strings.Contains(tmpl, "{hostname}") {
		host, err := hostname()
		if err != nil {
			return "", fmt.Errorf("transfer.instance_id: {hostname}: %w", err)
		}
		id = strings.ReplaceAll(tmpl, "{hostname}", host)
	}
	if !instanceIDChars.MatchString(id) || id == "." || id == ".." {
		return "", fmt.Errorf("transfer.instance_id: %q is not a Kafka group.instance.id (letters, digits, '.', '_', '-'; at most 249)", id)
	}
	return id, nil
}

// fencedError explains FENCED_INSTANCE_ID: another member of the group joined with this
// instance's id. Rejoining would fence that one in turn, so the transfer stops.
func (c *Consumer) fencedError(err error) error {
	return fmt.Errorf("transfer.instance_id %q is used by another transfer of group %q (%w): "+
		"each instance of a group needs its own id; for a second transfer on this host set transfer.instance_id "+
		"(or LOGCOLLECT_TRANSFER_INSTANCE_ID) to e.g. \"{hostname}-2\"", c.instanceID, c.cfg.Group, err)
}

func isFenced(err error) bool { return errors.Is(err, kerr.FencedInstanceID) }
