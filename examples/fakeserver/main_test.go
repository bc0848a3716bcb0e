package main

import "testing"

func TestCheckAddr(t *testing.T) {
	tests := []struct {
		addr        string
		allowRemote bool
		wantErr     bool
	}{
		{"127.0.0.1:8080", false, false},
		{"[::1]:8080", false, false},
		{"localhost:0", false, false},
		{"0.0.0.0:8080", false, true},
		{":8080", false, true},
		{"10.1.2.3:8080", false, true},
		{"10.1.2.3:8080", true, false},
		{"nonsense", false, true},
	}
	for _, tt := range tests {
		if err := checkAddr(tt.addr, tt.allowRemote); (err != nil) != tt.wantErr {
			t.Errorf("checkAddr(%q, %v) = %v, wantErr %v", tt.addr, tt.allowRemote, err, tt.wantErr)
		}
	}
}
