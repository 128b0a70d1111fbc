// Command etcd runs the etcd server from the go.etcd.io/etcd/server/v3 module,
// so the e2e harness can build etcd from the Go module proxy.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
