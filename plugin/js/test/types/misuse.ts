// Must NOT compile: each line is a mistake the declarations catch (the test
// checks that tsc reports exactly these lines).
import { reassemble, Reassembler } from "../../pkg/node/gopanic_js.js";

reassemble("x", { fromat: "cri" });
reassemble(42);
const cls: number = reassemble("x")[0]!.go!.class;
new Reassembler().push("x", { time: 5 });
reassemble("x", { profile: "loki" });

export { cls };
