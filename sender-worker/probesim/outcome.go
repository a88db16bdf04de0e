package probesim

import "net/http"

// outcome is what became of one request to the send endpoint.
type outcome uint8

const (
	outAccepted     outcome = iota // 200, code 0, recorded
	out500                         // injected 500
	out400                         // injected 400
	out429                         // injected 429 with Retry-After
	out503                         // injected 503 with Retry-After
	outGarbage                     // injected 200 with a non-JSON body
	outCodeNonzero                 // injected 200 with code 1
	outUnauthorized                // 401: missing or invalid token
	outBadRequest                  // 400: the request itself is wrong
	outDropped                     // connection closed unanswered (down)
	outHung                        // held unanswered (hang)
	outAbandoned                   // the client left, or the server shut down, during the latency
	numOutcomes
)

func (o outcome) String() string {
	switch o {
	case outAccepted:
		return "accepted"
	case out500:
		return "500"
	case out400:
		return "400"
	case out429:
		return "429"
	case out503:
		return "503"
	case outGarbage:
		return "garbage"
	case outCodeNonzero:
		return "code_nonzero"
	case outUnauthorized:
		return "unauthorized"
	case outBadRequest:
		return "bad_request"
	case outDropped:
		return "dropped"
	case outHung:
		return "hung"
	default:
		return "abandoned"
	}
}

// answer is the fixed reply of an answered outcome. Bodies are constant
// strings, so answering costs no encoding.
type answer struct {
	status      int
	contentType string
	body        string
	retryAfter  bool
}

const (
	jsonType = "application/json"
	bodyOK   = `{"code":0,"message":"OK"}`
)

func (o outcome) answer() answer {
	switch o {
	case outAccepted:
		return answer{http.StatusOK, jsonType, bodyOK, false}
	case out500:
		return answer{http.StatusInternalServerError, jsonType, `{"code":500,"message":"internal error (injected)"}`, false}
	case out400:
		return answer{http.StatusBadRequest, jsonType, `{"code":400,"message":"bad request (injected)"}`, false}
	case out429:
		return answer{http.StatusTooManyRequests, jsonType, `{"code":429,"message":"too many requests (injected)"}`, true}
	case out503:
		return answer{http.StatusServiceUnavailable, jsonType, `{"code":503,"message":"service unavailable (injected)"}`, true}
	case outGarbage:
		return answer{http.StatusOK, "text/html; charset=utf-8", "<html><body>502 Bad Gateway (injected garbage)</body></html>", false}
	case outCodeNonzero:
		return answer{http.StatusOK, jsonType, `{"code":1,"message":"rejected"}`, false}
	case outUnauthorized:
		return answer{http.StatusUnauthorized, jsonType, `{"code":401,"message":"missing or invalid bearer token"}`, false}
	default:
		return answer{http.StatusBadRequest, jsonType, `{"code":400,"message":"invalid request: want POST /v1/send/{id} with {\"id\": <the same id>, \"phone\": 7XXXXXXXXXX, \"text\": \"<non-empty>\"}"}`, false}
	}
}
