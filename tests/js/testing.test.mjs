import { test } from "node:test";
import assert from "node:assert/strict";
import { DeciderSpecification, SpecificationError } from "eventfold/testing";
import { order } from "./order.mjs";

const spec = DeciderSpecification.for(order);
const created = { type: "OrderCreated", data: { customerId: "c1" } };

test("given/when/then accepts the right events and rejections", () => {
  spec.given([]).when({ type: "Create", customerId: "c1" }).then([created]);
  spec.given([created]).when({ type: "AddItem", sku: "p", qty: 2, unitPrice: 150 })
    .then([{ type: "ItemAdded", data: { sku: "p", qty: 2, unitPrice: 150 } }]);
  spec.given([created]).when({ type: "Confirm" }).then("empty order");
  spec.given([created]).when({ type: "Create", customerId: "c2" }).then(/already exists/);
  spec.given([created, { type: "ItemAdded", data: { sku: "p", qty: 1, unitPrice: 1 } }, { type: "OrderConfirmed" }])
    .when({ type: "Cancel" }).then({ message: "the order is confirmed, not open" });
  spec.given([created]).when({ type: "Cancel" }).then([{ type: "OrderCancelled" }]);
});

test("a specification that does not hold throws SpecificationError", () => {
  assert.throws(() => spec.given([]).when({ type: "Create", customerId: "c1" }).then([{ type: "Other" }]), SpecificationError);
  assert.throws(() => spec.given([]).when({ type: "Create", customerId: "c1" }).then([{ ...created, data: { customerId: "x" } }]), SpecificationError);
  assert.throws(() => spec.given([]).when({ type: "Create", customerId: "c1" }).then("should reject"), SpecificationError);
  assert.throws(() => spec.given([created]).when({ type: "Confirm" }).then([]), SpecificationError);
  assert.throws(() => spec.given([created]).when({ type: "Confirm" }).then(/other reason/), SpecificationError);
  assert.throws(() => DeciderSpecification.for({}), TypeError);
});
