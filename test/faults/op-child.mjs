// One pyro operation in a process of its own (the "SDK process" of the fault
// matrix, which the matrix may kill -9): argv[2] is the state dir, argv[3] the
// environment cache, argv[4] the SDK method, argv[5] its input as JSON. Says
// CALLING on stderr right before the call, then prints the result (or the
// error's JSON) on stdout; exit 0 on success, 1 on a PyroError, 70 otherwise.
import { Pyro, PyroError } from "../../dist/index.js";

const [, , stateDir, cacheDir, method, input] = process.argv;
const pyro = new Pyro({ stateDir, cacheDir, warmSpares: false });
process.stderr.write("CALLING\n");
try {
  const result = await pyro[method](JSON.parse(input));
  process.stdout.write(JSON.stringify(result));
  process.exitCode = 0;
} catch (error) {
  if (error instanceof PyroError) {
    process.stdout.write(JSON.stringify(error.toJSON()));
    process.exitCode = 1;
  } else {
    process.stdout.write(JSON.stringify({ error: { code: "not-a-pyro-error", message: String(error?.stack ?? error) } }));
    process.exitCode = 70;
  }
} finally {
  await pyro.close();
}
