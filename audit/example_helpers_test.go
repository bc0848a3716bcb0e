package audit_test

import (
	"os"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/gwsadmin/workspace/audit"
)

func tempDir() (string, func()) {
	d, err := os.MkdirTemp("", "audit-example")
	if err != nil {
		panic(err)
	}
	return d, func() { os.RemoveAll(d) }
}

// entityList is the private key ring of generated key pairs (a program
// that saved the key would use audit.ReadPrivateKeyFile instead).
func entityList(kps []*audit.KeyPair) openpgp.EntityList {
	var l openpgp.EntityList
	for _, kp := range kps {
		l = append(l, kp.Entity)
	}
	return l
}
