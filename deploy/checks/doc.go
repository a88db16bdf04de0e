// Package checks holds the tests of the deployment files: the Dockerfile,
// docker-compose.yml and .env.example, the Kubernetes kustomizations,
// .gitlab-ci.yml and the README's run instructions. No Docker engine or
// cluster is needed: each file is parsed and validated with the libraries
// of its own ecosystem (BuildKit's Dockerfile parser, compose-go,
// kustomize, the Kubernetes API types), and the Dockerfile's Go build
// steps are replayed on a copy of its build context.
package checks
