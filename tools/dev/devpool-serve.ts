// Foreground devpool for the embedded default (`npm start` runs it detached through tools/dev/services.ts).
// Settings come from the environment so the password never appears in argv:
//   DEVPOOL_DATA_DIR, DEVPOOL_PORT, DEVPOOL_USERNAME, DEVPOOL_PASSWORD, DEVPOOL_TLS=true|false
import { startDevpool } from "../../devpool";
import { ToolError } from "../errors";

async function main(): Promise<void> {
  const env = (k: string): string => {
    const v = process.env[k];
    if (v === undefined || v === "")
      throw new ToolError("USAGE", `devpool-serve: ${k} is required in the environment`);
    return v;
  };
  const pool = await startDevpool({
    dataDir: env("DEVPOOL_DATA_DIR"),
    port: Number(env("DEVPOOL_PORT")),
    username: env("DEVPOOL_USERNAME"),
    password: env("DEVPOOL_PASSWORD"),
    tls: process.env.DEVPOOL_TLS !== "false",
  });
  console.log(`devpool: serving ${pool.url} (state in ${pool.dataDir})`);
  const stop = () => {
    void pool.stop().then(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((e: unknown) => {
  console.error((e as Error).message);
  process.exit(1);
});
