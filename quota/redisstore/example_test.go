package redisstore_test

import (
	"log"

	"github.com/redis/go-redis/v9"

	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/quota/redisstore"
)

// Processes that build their limiter this way, with the same prefix, share
// the project's rates, daily budgets and concurrency caps.
func Example() {
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
	defer rdb.Close()
	lim, err := quota.New(quota.WithStore(redisstore.New(rdb, "gws")))
	if err != nil {
		log.Fatal(err)
	}
	_ = lim // hand it to workspace.WithQuota
}
