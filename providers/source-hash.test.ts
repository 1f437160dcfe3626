import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { collectTemplateSources } from "./source-hash";

function tree(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "srchash-"));
  for (const [p, c] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
    fs.writeFileSync(path.join(root, p), c);
  }
  return root;
}

describe("template source hash", () => {
  const base = {
    "packer/iso/build.pkr.hcl":
      'scripts = ["${path.root}/../common/a.sh", "${path.root}/../common/b.sh"]\nhttp_directory = "${path.root}/../debian/http"',
    "packer/os/debian.pkrvars.hcl": 'os_scripts = ["debian/agent.sh"]',
    "packer/os/ubuntu.pkrvars.hcl": 'os_scripts = ["ubuntu/agent.sh"]',
    "packer/common/a.sh": '. "$(dirname "$0")/lib.sh"\necho a',
    "packer/common/b.sh": "echo b",
    "packer/common/lib.sh": "say() { echo; }",
    "packer/common/unused.sh": "echo unused",
    "packer/debian/agent.sh": "apt-get install xe-guest-utilities",
    "packer/ubuntu/agent.sh": "apt-get install xe-guest-utilities",
    "packer/debian/http/preseed.cfg": "d-i foo",
  };

  it("collects the template, its var file and every file they name, transitively", () => {
    const root = tree(base);
    const s = collectTemplateSources(root, "packer/iso", "packer/os/debian.pkrvars.hcl", "packer 1.9.4");
    expect(Object.keys(s.files)).to.deep.equal([
      "packer/common/a.sh",
      "packer/common/b.sh",
      "packer/common/lib.sh",
      "packer/debian/agent.sh",
      "packer/debian/http/preseed.cfg",
      "packer/iso/build.pkr.hcl",
      "packer/os/debian.pkrvars.hcl",
    ]);
    fs.rmSync(root, { recursive: true });
  });

  it("changes only for the templates that use a changed file", () => {
    const root = tree(base);
    const deb = () => collectTemplateSources(root, "packer/iso", "packer/os/debian.pkrvars.hcl", "v").hash;
    const ubu = () => collectTemplateSources(root, "packer/iso", "packer/os/ubuntu.pkrvars.hcl", "v").hash;
    const [d0, u0] = [deb(), ubu()];
    fs.writeFileSync(path.join(root, "packer/debian/agent.sh"), "changed");
    expect(deb()).to.not.equal(d0);
    expect(ubu()).to.equal(u0);
    fs.writeFileSync(path.join(root, "packer/common/unused.sh"), "changed too");
    expect(ubu()).to.equal(u0);
    fs.writeFileSync(path.join(root, "packer/common/lib.sh"), "sourced helper changed");
    expect(ubu()).to.not.equal(u0);
    fs.rmSync(root, { recursive: true });
  });

  it("changes with the tool versions and is stable otherwise", () => {
    const root = tree(base);
    const h = (v: string) => collectTemplateSources(root, "packer/iso", undefined, v).hash;
    expect(h("packer 1.9.4")).to.equal(h("packer 1.9.4"));
    expect(h("packer 1.9.4")).to.not.equal(h("packer 1.9.5"));
    fs.rmSync(root, { recursive: true });
  });
});
