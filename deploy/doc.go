// Package deploy holds no code: it is the home of shortstock's deployment
// files (deploy/docker, deploy/k8s, deploy/systemd; deploy/README.md maps
// the scale table to them) and of their offline checks, so that
// `go test ./...` covers them:
//
//   - check.sh renders every Kubernetes overlay with kustomize and validates
//     it with kubeconform -strict against the schemas committed in
//     deploy/k8s/schemas, and runs systemd-analyze verify on the units;
//   - the tests here run check.sh, then check policy on the rendered
//     manifests (probes, limits, non-root, regions, secrets), load
//     docker/compose.yaml with compose-go, parse and lint the Dockerfile
//     with BuildKit's parser, and check every SHORTSTOCK_* variable the
//     files set against the flags of the real binary.
//
// When kustomize or kubeconform cannot be installed (no network), the tests
// fail with CI=true and skip otherwise.
package deploy
