package standalone

import "github.com/logcollect/logcollect/internal/standalone/datadir"

// TokenFile is the standalone's access token in the data directory, used when http.auth
// is not configured: readable by the data directory's owner only.
const TokenFile = datadir.TokenFile

// AccessToken returns the token in dataDir/http-token, making it the first time (random,
// mode 0600, in a 0700 directory; see datadir.Secret).
func AccessToken(dataDir string) (string, error) {
	if err := datadir.Prepare(dataDir); err != nil {
		return "", err
	}
	tok, _, err := datadir.Secret(dataDir, datadir.TokenFile)
	return tok, err
}
