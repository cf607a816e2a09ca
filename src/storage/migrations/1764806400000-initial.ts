// Initial schema. DDL generated once from the entities by TypeORM for each driver, then reviewed and
// frozen here: later schema changes are new migrations, never edits to this one.
import type { MigrationInterface, QueryRunner } from 'typeorm';

const UP: Record<'sqlite' | 'postgres', string[]> = {
  sqlite: [
      "CREATE TABLE \"experiments\" (\"id\" varchar(36) PRIMARY KEY NOT NULL, \"name\" varchar(200) NOT NULL, \"description\" text, \"tags\" text NOT NULL, \"document\" text NOT NULL, \"archived\" boolean NOT NULL DEFAULT (0), \"created_at\" double precision NOT NULL)",
      "CREATE TABLE \"runs\" (\"id\" varchar(36) PRIMARY KEY NOT NULL, \"experiment_id\" varchar(36) NOT NULL, \"name\" varchar(200) NOT NULL, \"status\" varchar(20) NOT NULL, \"reason\" text, \"attempt\" integer NOT NULL DEFAULT (0), \"priority\" integer NOT NULL DEFAULT (0), \"queued_at\" double precision NOT NULL, \"host_id\" varchar(64), \"devices\" text NOT NULL, \"spec\" text NOT NULL, \"spec_hash\" varchar(64) NOT NULL, \"epochs_completed\" integer NOT NULL DEFAULT (0), \"last_seq\" integer NOT NULL DEFAULT (0), \"last\" text NOT NULL, \"checkpoint_path\" text, \"checkpoint_host\" varchar(64), \"created_at\" double precision NOT NULL, \"started_at\" double precision, \"ended_at\" double precision)",
      "CREATE INDEX \"idx_runs_experiment\" ON \"runs\" (\"experiment_id\") ",
      "CREATE INDEX \"idx_runs_status\" ON \"runs\" (\"status\") ",
      "CREATE TABLE \"run_transitions\" (\"id\" integer PRIMARY KEY AUTOINCREMENT NOT NULL, \"run_id\" varchar(36) NOT NULL, \"from_status\" varchar(20), \"to_status\" varchar(20) NOT NULL, \"reason\" text, \"at\" double precision NOT NULL)",
      "CREATE INDEX \"idx_transitions_run\" ON \"run_transitions\" (\"run_id\") ",
      "CREATE TABLE \"run_messages\" (\"run_id\" varchar(36) NOT NULL, \"seq\" integer NOT NULL, \"type\" varchar(20) NOT NULL, \"received_at\" double precision NOT NULL, PRIMARY KEY (\"run_id\", \"seq\"))",
      "CREATE TABLE \"metric_points\" (\"id\" integer PRIMARY KEY AUTOINCREMENT NOT NULL, \"run_id\" varchar(36) NOT NULL, \"seq\" integer NOT NULL, \"key\" varchar(64) NOT NULL, \"step\" integer NOT NULL, \"epoch\" integer NOT NULL, \"value\" double precision NOT NULL, \"wall_time\" double precision NOT NULL)",
      "CREATE INDEX \"idx_points_run_seq\" ON \"metric_points\" (\"run_id\", \"seq\") ",
      "CREATE TABLE \"evaluations\" (\"id\" integer PRIMARY KEY AUTOINCREMENT NOT NULL, \"run_id\" varchar(36) NOT NULL, \"seq\" integer NOT NULL, \"epoch\" integer NOT NULL, \"class_names\" text NOT NULL, \"matrix\" text NOT NULL, \"misclassified\" text NOT NULL, \"loss\" double precision NOT NULL, \"samples\" integer NOT NULL, \"measures\" text NOT NULL, \"created_at\" double precision NOT NULL)",
      "CREATE INDEX \"idx_evaluations_run\" ON \"evaluations\" (\"run_id\", \"epoch\") ",
      "CREATE TABLE \"run_logs\" (\"id\" integer PRIMARY KEY AUTOINCREMENT NOT NULL, \"run_id\" varchar(36) NOT NULL, \"seq\" integer NOT NULL, \"level\" varchar(10) NOT NULL, \"message\" text NOT NULL, \"created_at\" double precision NOT NULL)",
      "CREATE INDEX \"idx_logs_run\" ON \"run_logs\" (\"run_id\", \"seq\") ",
      "CREATE TABLE \"checkpoints\" (\"id\" integer PRIMARY KEY AUTOINCREMENT NOT NULL, \"run_id\" varchar(36) NOT NULL, \"seq\" integer NOT NULL, \"epoch\" integer NOT NULL, \"path\" text NOT NULL, \"bytes\" double precision NOT NULL, \"final\" boolean NOT NULL, \"host_id\" varchar(64), \"created_at\" double precision NOT NULL)",
      "CREATE INDEX \"idx_checkpoints_run\" ON \"checkpoints\" (\"run_id\") ",
      "CREATE TABLE \"hosts\" (\"id\" varchar(64) PRIMARY KEY NOT NULL, \"name\" varchar(200) NOT NULL, \"labels\" text NOT NULL, \"devices\" text NOT NULL, \"cpu_slots\" integer NOT NULL, \"versions\" text NOT NULL, \"status\" varchar(10) NOT NULL, \"last_seen\" double precision, \"connected_at\" double precision)",
  ],
  postgres: [
      "CREATE TABLE \"experiments\" (\"id\" character varying(36) NOT NULL, \"name\" character varying(200) NOT NULL, \"description\" text, \"tags\" text NOT NULL, \"document\" text NOT NULL, \"archived\" boolean NOT NULL DEFAULT false, \"created_at\" double precision NOT NULL, CONSTRAINT \"PK_aafe1321d916fac58ba06ad8178\" PRIMARY KEY (\"id\"))",
      "CREATE TABLE \"runs\" (\"id\" character varying(36) NOT NULL, \"experiment_id\" character varying(36) NOT NULL, \"name\" character varying(200) NOT NULL, \"status\" character varying(20) NOT NULL, \"reason\" text, \"attempt\" integer NOT NULL DEFAULT '0', \"priority\" integer NOT NULL DEFAULT '0', \"queued_at\" double precision NOT NULL, \"host_id\" character varying(64), \"devices\" text NOT NULL, \"spec\" text NOT NULL, \"spec_hash\" character varying(64) NOT NULL, \"epochs_completed\" integer NOT NULL DEFAULT '0', \"last_seq\" integer NOT NULL DEFAULT '0', \"last\" text NOT NULL, \"checkpoint_path\" text, \"checkpoint_host\" character varying(64), \"created_at\" double precision NOT NULL, \"started_at\" double precision, \"ended_at\" double precision, CONSTRAINT \"PK_46d6a1e257c38ba58f1a3c30836\" PRIMARY KEY (\"id\"))",
      "CREATE INDEX \"idx_runs_experiment\" ON \"runs\"  (\"experiment_id\") ",
      "CREATE INDEX \"idx_runs_status\" ON \"runs\"  (\"status\") ",
      "CREATE TABLE \"run_transitions\" (\"id\" SERIAL NOT NULL, \"run_id\" character varying(36) NOT NULL, \"from_status\" character varying(20), \"to_status\" character varying(20) NOT NULL, \"reason\" text, \"at\" double precision NOT NULL, CONSTRAINT \"PK_fd33dc5bfd75b4259a0de31ff1a\" PRIMARY KEY (\"id\"))",
      "CREATE INDEX \"idx_transitions_run\" ON \"run_transitions\"  (\"run_id\") ",
      "CREATE TABLE \"run_messages\" (\"run_id\" character varying(36) NOT NULL, \"seq\" integer NOT NULL, \"type\" character varying(20) NOT NULL, \"received_at\" double precision NOT NULL, CONSTRAINT \"PK_72a27c527e50e5322822fda89c3\" PRIMARY KEY (\"run_id\", \"seq\"))",
      "CREATE TABLE \"metric_points\" (\"id\" SERIAL NOT NULL, \"run_id\" character varying(36) NOT NULL, \"seq\" integer NOT NULL, \"key\" character varying(64) NOT NULL, \"step\" integer NOT NULL, \"epoch\" integer NOT NULL, \"value\" double precision NOT NULL, \"wall_time\" double precision NOT NULL, CONSTRAINT \"PK_ea9208dd317b55707dd2a9034c1\" PRIMARY KEY (\"id\"))",
      "CREATE INDEX \"idx_points_run_seq\" ON \"metric_points\"  (\"run_id\", \"seq\") ",
      "CREATE TABLE \"evaluations\" (\"id\" SERIAL NOT NULL, \"run_id\" character varying(36) NOT NULL, \"seq\" integer NOT NULL, \"epoch\" integer NOT NULL, \"class_names\" text NOT NULL, \"matrix\" text NOT NULL, \"misclassified\" text NOT NULL, \"loss\" double precision NOT NULL, \"samples\" integer NOT NULL, \"measures\" text NOT NULL, \"created_at\" double precision NOT NULL, CONSTRAINT \"PK_f683b433eba0e6dae7e19b29e29\" PRIMARY KEY (\"id\"))",
      "CREATE INDEX \"idx_evaluations_run\" ON \"evaluations\"  (\"run_id\", \"epoch\") ",
      "CREATE TABLE \"run_logs\" (\"id\" SERIAL NOT NULL, \"run_id\" character varying(36) NOT NULL, \"seq\" integer NOT NULL, \"level\" character varying(10) NOT NULL, \"message\" text NOT NULL, \"created_at\" double precision NOT NULL, CONSTRAINT \"PK_a7e453f59dee3f9e1e47c453203\" PRIMARY KEY (\"id\"))",
      "CREATE INDEX \"idx_logs_run\" ON \"run_logs\"  (\"run_id\", \"seq\") ",
      "CREATE TABLE \"checkpoints\" (\"id\" SERIAL NOT NULL, \"run_id\" character varying(36) NOT NULL, \"seq\" integer NOT NULL, \"epoch\" integer NOT NULL, \"path\" text NOT NULL, \"bytes\" double precision NOT NULL, \"final\" boolean NOT NULL, \"host_id\" character varying(64), \"created_at\" double precision NOT NULL, CONSTRAINT \"PK_dfcc46a91d96ecba8a8dcd8b11c\" PRIMARY KEY (\"id\"))",
      "CREATE INDEX \"idx_checkpoints_run\" ON \"checkpoints\"  (\"run_id\") ",
      "CREATE TABLE \"hosts\" (\"id\" character varying(64) NOT NULL, \"name\" character varying(200) NOT NULL, \"labels\" text NOT NULL, \"devices\" text NOT NULL, \"cpu_slots\" integer NOT NULL, \"versions\" text NOT NULL, \"status\" character varying(10) NOT NULL, \"last_seen\" double precision, \"connected_at\" double precision, CONSTRAINT \"PK_c4bcf0826e0e2847faee4da1746\" PRIMARY KEY (\"id\"))",
  ],
};

const TABLES = ["experiments","runs","run_transitions","run_messages","metric_points","evaluations","run_logs","checkpoints","hosts"];

export class Initial1764806400000 implements MigrationInterface {
  name = 'Initial1764806400000';

  async up(qr: QueryRunner): Promise<void> {
    for (const sql of UP[dialect(qr)]) await qr.query(sql);
  }

  async down(qr: QueryRunner): Promise<void> {
    for (const t of [...TABLES].reverse()) await qr.query(`DROP TABLE IF EXISTS "${t}"`);
  }
}

function dialect(qr: QueryRunner): 'sqlite' | 'postgres' {
  return qr.connection.options.type === 'postgres' ? 'postgres' : 'sqlite';
}
