package httpserver

import (
	"fmt"
	"net"
)

// CheckListen refuses a listen address that is not a loopback one unless a credential is
// required: the standalone's and the server's API hand out every log line they can read.
func CheckListen(listen string, a Auth) error {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("--http-listen / http.listen %q: must be host:port", listen)
	}
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return nil
	}
	if !a.Enabled() {
		return fmt.Errorf("--http-listen / http.listen %s is not a loopback address: set http.auth (token, or username and password) first, "+
			"or listen on 127.0.0.1", listen)
	}
	return nil
}

// OpenURL is the URL a person opens for a server listening on addr: the address as
// bound, with 127.0.0.1 for an unspecified host (0.0.0.0, ::). A token the process made
// for itself (none configured) rides in the fragment, which the browser does not send:
// the page posts it to /api/login, gets a session cookie and drops the fragment from the
// address bar and history. A configured credential is not printed: its owner has it.
func OpenURL(addr net.Addr, generatedToken string) string {
	host, port, _ := net.SplitHostPort(addr.String())
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	u := "http://" + net.JoinHostPort(host, port) + "/"
	if generatedToken != "" {
		u += "#token=" + generatedToken
	}
	return u
}
