package mailsource

//go:generate go run ../benchmarks/gensample -seed 1 -n 3000 -o testdata/sample.mbox
