package workspacetest

import "net/http"

// transfer is a Data Transfer API transfer.
type transfer struct{}

func (s *Server) registerDataTransfer(mux *http.ServeMux) {}
