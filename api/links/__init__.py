"""The links in pushes: ``GET /go/{token}`` opens the alert the push is about."""
