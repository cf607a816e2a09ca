// Device stats history: one row per device per sample (the hosts page's utilisation/memory history).
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class DeviceSamples1764892800000 implements MigrationInterface {
  name = 'DeviceSamples1764892800000';

  async up(qr: QueryRunner): Promise<void> {
    const pg = qr.connection.options.type === 'postgres';
    await qr.query(
      `CREATE TABLE "device_samples" (` +
        (pg ? `"id" SERIAL NOT NULL, ` : `"id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, `) +
        `"host_id" ${pg ? 'character varying(64)' : 'varchar(64)'} NOT NULL, "device_index" integer NOT NULL, ` +
        `"at" double precision NOT NULL, "utilization_pct" double precision, "memory_used_mb" double precision, ` +
        `"temperature_c" double precision` +
        (pg ? `, CONSTRAINT "PK_device_samples" PRIMARY KEY ("id"))` : `)`),
    );
    await qr.query(`CREATE INDEX "idx_device_samples_host_at" ON "device_samples" ("host_id", "at")`);
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.query(`DROP TABLE IF EXISTS "device_samples"`);
  }
}
