/**
 * The VM lifecycle step by step: create, start, look at it, run one command, delete.
 * Use this only when you need the VM before its command runs (status, network info);
 * `runInVm` (examples/sdk-run.ts) does all of it in one call.
 *
 *   npx tsx examples/sdk-lifecycle.ts
 */
import { Pyro } from "pyro-mcp";

await using pyro = new Pyro();
const vm = await pyro.createVm({ environment: "debian:12", ttl_seconds: 300 });
try {
  await pyro.startVm({ vm_id: vm.vm_id });
  const status = await pyro.statusVm({ vm_id: vm.vm_id });
  console.log(`vm ${status.vm_id} is ${status.state} on ${status.backend}`);
  // execVm runs one command; the VM is deleted afterwards (its record says why).
  const result = await pyro.execVm({ vm_id: vm.vm_id, command: "uname -sr && cat /etc/debian_version" });
  console.log(result.stdout.trim());
} finally {
  // Already gone after execVm; deleting again is how you clean up after a failure before it.
  await pyro.deleteVm({ vm_id: vm.vm_id }).catch(() => undefined);
}
